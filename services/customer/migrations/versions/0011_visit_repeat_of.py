"""Repeat visits (issue 18, EDER): a visit may name the repair order whose fix failed
(`repeat_of_ro`, one of the same VIN's visits at any dealer) and why (`repeat_cause`).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_visits", sa.Column("repeat_of_ro", sa.String(50), nullable=True))
    op.add_column("service_visits", sa.Column("repeat_cause", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_visits") as batch:
        batch.drop_column("repeat_cause")
        batch.drop_column("repeat_of_ro")
