"""Customers' lifecycle changes (issue 16, `lifecycle.changed`) for lapsed_rate.

Nothing to back-fill: the customer service's standing job publishes a change for every customer
with a visit on its first run.

Revision ID: 0013
Revises: 0012 (the lead renumbers at merge: 0009-0011 are other branches')
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_lifecycle",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("changed_at", UTCDateTime(), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("lifecycle", sa.String(20), nullable=False),
    )
    op.create_index("ix_kpi_lifecycle_path_changed", "kpi_lifecycle", ["org_path", "changed_at"])
    rls.enable(["kpi_lifecycle"])


def downgrade() -> None:
    rls.disable(["kpi_lifecycle"])
    op.drop_table("kpi_lifecycle")
