"""Care campaigns (issue 16): the campaign, and one member row per customer a launch reached (sent
or holdout), unique per campaign and customer so a message is never published twice.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("campaigns", "campaign_members")


def _org_path_index(table: str) -> None:
    op.create_index(f"ix_{table}_org_path", table, ["org_path"], postgresql_ops={"org_path": "varchar_pattern_ops"})


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("holdout_pct", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("launched_at", UTCDateTime(), nullable=True),
        sa.Column("targeted", sa.Integer(), nullable=True),
        sa.Column("excluded_no_consent", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_campaigns_created_at_id", "campaigns", ["created_at", "id"])
    op.create_index("ix_campaigns_updated_at_id", "campaigns", ["updated_at", "id"])
    _org_path_index("campaigns")
    op.create_table(
        "campaign_members",
        sa.Column("campaign_id", sa.Uuid(), sa.ForeignKey("campaigns.id", name="fk_campaign_members_campaign_id_campaigns"),
                  primary_key=True),
        sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id", name="fk_campaign_members_customer_id_customers"),
                  primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("cohort", sa.String(10), nullable=False),
        sa.Column("message_event_id", sa.String(64), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_campaign_members_customer_id", "campaign_members", ["customer_id"])
    _org_path_index("campaign_members")
    rls.enable(list(TABLES))


def downgrade() -> None:
    rls.disable(list(TABLES))
    for table in reversed(TABLES):
        op.drop_table(table)
