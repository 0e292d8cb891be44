"""Dealer evaluation (issue 15): scheme versions, published evaluations and their frozen items.

Schemes and published evaluations are owned by the manufacturer and read by the orgs below it
(ancestors_read); each frozen item is keyed by the evaluated org's path, so row-level security
shows an org the items of its own subtree only.

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

TABLES = ["kpi_evaluation_schemes", "kpi_evaluations", "kpi_evaluation_items"]


def upgrade() -> None:
    op.create_table(
        "kpi_evaluation_schemes",
        sa.Column("org_path", sa.String(400), primary_key=True),
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("elements", sa.JSON(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "kpi_evaluations",
        sa.Column("org_path", sa.String(400), primary_key=True),
        sa.Column("scheme", sa.String(40), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("scheme_version", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("published_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "kpi_evaluation_items",
        sa.Column("org_path", sa.String(400), primary_key=True),
        sa.Column("scheme", sa.String(40), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("network_path", sa.String(400), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("org_code", sa.String(40), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("tier", sa.String(60), nullable=True),
        sa.Column("rebate_pct", sa.Float(), nullable=True),
        sa.Column("elements", sa.JSON(), nullable=False),
    )
    rls.enable(TABLES, ancestors_read=("kpi_evaluation_schemes", "kpi_evaluations"))


def downgrade() -> None:
    rls.disable(TABLES)
    for table in reversed(TABLES):
        op.drop_table(table)
