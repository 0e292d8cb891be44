"""Interactions (contact history) and the phone indexes of the screen pop.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_interactions_customer_id_customers"),
                  index=True),
        sa.Column("prospect_id", sa.Uuid(), sa.ForeignKey("prospects.id", name="fk_interactions_prospect_id_prospects"),
                  index=True),
        sa.Column("phone", sa.String(20)),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("agent", sa.String(100)),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("duration_s", sa.Integer()),
    )
    op.create_index("ix_interactions_dealer_created", "interactions", ["dealer_code", "created_at", "id"])
    op.create_index("ix_interactions_updated_at_id", "interactions", ["updated_at", "id"])
    op.create_index("ix_interactions_org_path", "interactions", ["org_path"],
                    postgresql_ops={"org_path": "varchar_pattern_ops"})
    # A phone lookup without a dealer code (the unique index leads with dealer_code).
    op.create_index("ix_customers_phone", "customers", ["phone"])
    op.create_index("ix_prospects_phone", "prospects", ["phone"])
    rls.enable(["interactions"])


def downgrade() -> None:
    rls.disable(["interactions"])
    op.drop_index("ix_prospects_phone", "prospects")
    op.drop_index("ix_customers_phone", "customers")
    op.drop_table("interactions")
