"""recall_completion (issue 18 item 5): the affected VINs of the recalls, by their dealer, from
recall.vin_assigned and recall.completed.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from shared import rls
from shared.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_recall_vins",
        sa.Column("recall_code", sa.String(40), primary_key=True),
        sa.Column("vin", sa.String(17), primary_key=True),
        sa.Column("org_path", sa.String(400), nullable=False),
        sa.Column("assigned_at", UTCDateTime, nullable=False),
        sa.Column("completed_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_kpi_recall_vins_path_assigned", "kpi_recall_vins", ["org_path", "assigned_at"])
    rls.enable(["kpi_recall_vins"])


def downgrade() -> None:
    rls.disable(["kpi_recall_vins"])
    op.drop_table("kpi_recall_vins")
