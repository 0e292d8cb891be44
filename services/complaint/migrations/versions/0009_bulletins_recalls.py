"""Bulletins (with acknowledgements and overdue reminders), recalls with their affected VINs, and
the VIN -> responsible dealer read model (issue 18 items 4, 5). Row-level security on the
org-owned tables; bulletins and recalls are also readable from below (the dealers they address).

Revision ID: 0009
Revises: 0008 (the lead renumbers at merge: 0006 and 0007 are held by other branches)
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RLS_TABLES = ["bulletins", "bulletin_acks", "bulletin_reminders", "recalls", "recall_vins"]


def upgrade() -> None:
    op.create_table(
        "bulletins",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("symptom_codes", sa.JSON(), nullable=False),
        sa.Column("signal_id", sa.Uuid(), sa.ForeignKey("quality_signals.id"), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_bulletins_org_path", "bulletins", ["org_path"])
    op.create_index("ix_bulletins_created_at_id", "bulletins", ["created_at", "id"])
    op.create_table(
        "bulletin_acks",
        sa.Column("bulletin_id", sa.Uuid(), sa.ForeignKey("bulletins.id"), primary_key=True),
        sa.Column("dealer_code", sa.String(40), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("acknowledged_by", sa.String(120), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_bulletin_acks_org_path", "bulletin_acks", ["org_path"])
    op.create_table(
        "bulletin_reminders",
        sa.Column("bulletin_id", sa.Uuid(), sa.ForeignKey("bulletins.id"), primary_key=True),
        sa.Column("dealer_code", sa.String(40), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "recalls",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("remedy_op_code", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_recalls_org_path", "recalls", ["org_path"])
    op.create_table(
        "recall_vins",
        sa.Column("recall_id", sa.Uuid(), sa.ForeignKey("recalls.id"), primary_key=True),
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("dealer_code", sa.String(40), nullable=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime, nullable=True),
        sa.Column("completed_ro", sa.String(60), nullable=True),
    )
    op.create_index("ix_recall_vins_vin", "recall_vins", ["vin"])
    op.create_index("ix_recall_vins_recall_path", "recall_vins", ["recall_id", "org_path"])
    op.create_table(
        "vehicle_dealers",
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("selling_dealer_code", sa.String(40), nullable=True),
        sa.Column("selling_org_path", sa.String(400), nullable=True),
        sa.Column("servicing_dealer_code", sa.String(40), nullable=True),
        sa.Column("servicing_org_path", sa.String(400), nullable=True),
        sa.Column("serviced_at", UTCDateTime, nullable=True),
    )
    rls.enable(RLS_TABLES, ancestors_read=("bulletins", "recalls"))


def downgrade() -> None:
    rls.disable(RLS_TABLES)
    for table in ("vehicle_dealers", "recall_vins", "recalls", "bulletin_reminders", "bulletin_acks", "bulletins"):
        op.drop_table(table)
