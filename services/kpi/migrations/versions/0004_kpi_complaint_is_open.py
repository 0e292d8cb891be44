"""kpi_complaints.is_open: whether the case is open, as the complaint service's events now say.

Cases known before this revision are filled in from their status with the open states of
the complaint service at this revision; from now on each complaint event carries the answer.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kpi_complaints", sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE kpi_complaints SET is_open = status IN ('new', 'acknowledged', 'in_progress', 'awaiting_customer')")


def downgrade() -> None:
    op.drop_column("kpi_complaints", "is_open")
