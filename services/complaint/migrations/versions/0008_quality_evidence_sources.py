"""EDER evidence from every channel (issue 18): the kind of each piece of evidence, and a signal's
sources by kind. Rows from before are product-quality complaints.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaint_symptoms", sa.Column("source", sa.String(20), nullable=False, server_default="complaint"))
    op.add_column("quality_signals", sa.Column("sources", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("quality_signals") as batch:
        batch.drop_column("sources")
    with op.batch_alter_table("complaint_symptoms") as batch:
        batch.drop_column("source")
