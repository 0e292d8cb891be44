"""Where each customer stands (issue 16): lifecycle from the service history and value (RFM).

One row per customer, written by the lifecycle and value job and by the visit events; nothing
is back-filled here: the job's first run computes every customer.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_standing",
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("lifecycle", sa.String(20), nullable=False),
        sa.Column("lifecycle_since", UTCDateTime(), nullable=False),
        sa.Column("last_visit_at", UTCDateTime(), nullable=True),
        sa.Column("lapsed_at", UTCDateTime(), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency_24m", sa.Integer(), nullable=False),
        sa.Column("monetary_24m_minor", sa.BigInteger(), nullable=False),
        sa.Column("rfm", sa.String(3), nullable=True),
        sa.Column("segment", sa.String(20), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_customer_standing_dealer_lifecycle", "customer_standing", ["dealer_code", "lifecycle"])
    op.create_index("ix_customer_standing_dealer_segment", "customer_standing", ["dealer_code", "segment"])
    op.create_index("ix_customer_standing_org_path", "customer_standing", ["org_path"],
                    postgresql_ops={"org_path": "varchar_pattern_ops"})
    rls.enable(["customer_standing"])


def downgrade() -> None:
    rls.disable(["customer_standing"])
    op.drop_table("customer_standing")
