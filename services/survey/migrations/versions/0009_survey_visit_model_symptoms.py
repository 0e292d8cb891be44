"""Invitations and responses keep the vehicle model and symptom codes of the visit they follow
(issue 18, EDER): an alert on a "not fixed" answer carries them to the complaint service's quality
signals. Rows made before this revision name neither (their visits' alerts are long handled).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("invitations", "survey_responses")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("vehicle_model", sa.String(100), nullable=True))
        op.add_column(table, sa.Column("symptom_codes", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("symptom_codes")
            batch.drop_column("vehicle_model")
