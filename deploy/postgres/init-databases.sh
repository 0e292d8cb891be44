#!/bin/sh
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d/).
# The services log in as csloop_app: a plain role (no superuser, no BYPASSRLS), so the
# row-level security on every service table binds them (shared/rls.py). It owns one database
# per service, so each service's migrations run as it and FORCE ROW LEVEL SECURITY applies.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE csloop_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '${CSLOOP_APP_DB_PASSWORD}';
CREATE DATABASE csloop_gateway OWNER csloop_app;
CREATE DATABASE csloop_customer OWNER csloop_app;
CREATE DATABASE csloop_survey OWNER csloop_app;
CREATE DATABASE csloop_complaint OWNER csloop_app;
CREATE DATABASE csloop_kpi OWNER csloop_app;
SQL
