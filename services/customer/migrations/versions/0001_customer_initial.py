"""Customer service tables: customers, vehicles, deliveries, service visits, prospects, follow-ups.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrations import create_plumbing_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _owned() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    ]


def _org_path_index(table: str) -> None:
    # Prefix LIKE (the scope filter) uses a pattern-ops index on PostgreSQL.
    op.create_index(f"ix_{table}_org_path", table, ["org_path"], postgresql_ops={"org_path": "varchar_pattern_ops"})


def upgrade() -> None:
    create_plumbing_tables()
    op.create_table(
        "customers", *_owned(),
        sa.Column("external_id", sa.String(100)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("email", sa.String(254)),
        sa.Column("birth_date", sa.Date()),
        sa.Column("city", sa.String(100)),
        sa.Column("consent_survey", sa.Boolean(), nullable=False),
        sa.Column("consent_marketing", sa.Boolean(), nullable=False),
        sa.Column("consent_share_with_manufacturer", sa.Boolean(), nullable=False),
        sa.Column("erased_at", UTCDateTime),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("dealer_code", "external_id", name="uq_customers_dealer_code_external_id"),
    )
    op.create_index("uq_customers_dealer_phone", "customers", ["dealer_code", "phone"], unique=True,
                    postgresql_where=sa.text("phone IS NOT NULL"), sqlite_where=sa.text("phone IS NOT NULL"))
    op.create_index("ix_customers_created_at_id", "customers", ["created_at", "id"])
    op.create_table(
        "vehicles", *_owned(),
        sa.Column("vin", sa.String(17), nullable=False, index=True),
        sa.Column("model", sa.String(100)),
        sa.Column("model_year", sa.Integer()),
        sa.Column("plate", sa.String(20)),
        sa.Column("owner_customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_vehicles_owner_customer_id_customers"), index=True),
        sa.Column("delivered_at", UTCDateTime),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("dealer_code", "vin", name="uq_vehicles_dealer_code_vin"),
    )
    op.create_table(
        "deliveries", *_owned(),
        sa.Column("vin", sa.String(17), nullable=False, index=True),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_deliveries_customer_id_customers"), nullable=False, index=True),
        sa.Column("delivered_at", UTCDateTime, nullable=False),
        sa.Column("sales_consultant", sa.String(100)),
    )
    op.create_table(
        "service_visits", *_owned(),
        sa.Column("ro_number", sa.String(50), nullable=False),
        sa.Column("vin", sa.String(17), nullable=False, index=True),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_service_visits_customer_id_customers"), nullable=False, index=True),
        sa.Column("visit_type", sa.String(20), nullable=False),
        sa.Column("opened_at", UTCDateTime),
        sa.Column("closed_at", UTCDateTime),
        sa.Column("symptom_codes", sa.JSON(), nullable=False),
        sa.Column("op_codes", sa.JSON(), nullable=False),
        sa.Column("mileage_km", sa.Integer()),
        sa.Column("amount_minor", sa.BigInteger()),
        sa.Column("advisor", sa.String(100)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("dealer_code", "ro_number", name="uq_service_visits_dealer_code_ro_number"),
    )
    op.create_table(
        "prospects", *_owned(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("intended_model", sa.String(100)),
        sa.Column("level", sa.String(1), nullable=False),
        sa.Column("source", sa.String(50)),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "follow_ups", *_owned(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_follow_ups_dedupe_key"),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_follow_ups_customer_id_customers"), index=True),
        sa.Column("prospect_id", sa.Uuid(), sa.ForeignKey("prospects.id", name="fk_follow_ups_prospect_id_prospects"), index=True),
        sa.Column("vin", sa.String(17)),
        sa.Column("ro_number", sa.String(50)),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(100)),
        sa.Column("note", sa.Text()),
        sa.Column("completed_at", UTCDateTime),
        sa.Column("completed_by", sa.String(200)),
    )
    op.create_index("ix_follow_ups_status_due", "follow_ups", ["status", "due_at"])
    for table in ("customers", "vehicles", "deliveries", "service_visits", "prospects", "follow_ups"):
        _org_path_index(table)


def downgrade() -> None:
    for table in ("follow_ups", "prospects", "service_visits", "deliveries", "vehicles", "customers",
                  "idempotency_keys", "processed_events", "outbox"):
        op.drop_table(table)
