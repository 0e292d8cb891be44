"""kpi_visits.owner_verified: whether a visit's customer is the VIN's owner on record (FIR repeats).

Visits known before this revision counted as repeats wherever they were recorded, and keep
doing so (true), as the customer service's own records of them do (a rebuild agrees).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kpi_visits", sa.Column("owner_verified", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column("kpi_visits", "owner_verified")
