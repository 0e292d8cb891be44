"""service_visits.owner_verified: whether a visit's customer is the VIN's owner on the selling dealer's file.

Visits recorded before this revision keep counting as repeat visits as they did (true): figures
already published, and paid on, do not change under anyone.

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
    op.add_column("service_visits", sa.Column("owner_verified", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column("service_visits", "owner_verified")
