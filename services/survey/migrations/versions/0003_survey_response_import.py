"""Imported survey responses: `external_id` (the third party's id, unique per survey); no invitation needed.

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
    with op.batch_alter_table("survey_responses") as batch:
        batch.add_column(sa.Column("external_id", sa.String(100)))
        batch.alter_column("invitation_id", existing_type=sa.Uuid(), nullable=True)
        batch.create_unique_constraint("uq_survey_responses_survey_id_external_id", ["survey_id", "external_id"])


def downgrade() -> None:
    with op.batch_alter_table("survey_responses") as batch:
        batch.drop_constraint("uq_survey_responses_survey_id_external_id", type_="unique")
        batch.alter_column("invitation_id", existing_type=sa.Uuid(), nullable=False)
        batch.drop_column("external_id")
