"""Improvement plans (issue 15): plans with their re-check result, and their actions (owner, due
date, the complaint a corrective action came from, done, overdue published).

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_plans",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("kpi", sa.String(30), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("recheck_period", sa.String(7), nullable=False),
        sa.Column("recheck_end", UTCDateTime(), nullable=False),
        sa.Column("cause", sa.String(4000), nullable=False),
        sa.Column("source_kind", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.String(120), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("result_value", sa.Float(), nullable=True),
        sa.Column("result_met", sa.Boolean(), nullable=True),
        sa.Column("result_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_kpi_plans_path_created", "kpi_plans", ["org_path", "created_at"])
    op.create_index("ix_kpi_plans_unchecked", "kpi_plans", ["recheck_end"], postgresql_where=sa.text("result_at IS NULL"),
                    sqlite_where=sa.text("result_at IS NULL"))
    op.create_table(
        "kpi_plan_actions",
        sa.Column("plan_id", sa.Uuid(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("description", sa.String(4000), nullable=False),
        sa.Column("owner", sa.String(120), nullable=True),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("done_by", sa.String(120), nullable=True),
        sa.Column("overdue_published_at", UTCDateTime(), nullable=True),
    )
    rls.enable(["kpi_plans", "kpi_plan_actions"])


def downgrade() -> None:
    rls.disable(["kpi_plans", "kpi_plan_actions"])
    op.drop_table("kpi_plan_actions")
    op.drop_index("ix_kpi_plans_unchecked", "kpi_plans")
    op.drop_index("ix_kpi_plans_path_created", "kpi_plans")
    op.drop_table("kpi_plans")
