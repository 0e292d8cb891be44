"""A case opened from a flagged survey response says the response is under review (issue 17):
`response_under_review`, set from the alert's integrity and cleared by survey.response.reviewed.

Cases opened before this revision came from responses no rule had flagged.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("response_under_review", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("response_under_review")
