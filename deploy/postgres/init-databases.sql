-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d/).
-- One database per service, owned by the application role. The services also create their
-- database on start when the role may (shared/migrations.ensure_database); this script is
-- what a role without CREATEDB needs.
CREATE DATABASE csloop_gateway;
CREATE DATABASE csloop_customer;
CREATE DATABASE csloop_survey;
CREATE DATABASE csloop_complaint;
CREATE DATABASE csloop_kpi;
