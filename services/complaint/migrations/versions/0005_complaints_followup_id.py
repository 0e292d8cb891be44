"""The follow-up call a case was opened from (issue 14): `followup_id`, unique, so a redelivered
or re-published followup.issue_found, or two consumers racing for it, store one case.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("followup_id", sa.Uuid()))
    op.create_index("uq_complaints_followup_id", "complaints", ["followup_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_complaints_followup_id", "complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("followup_id")
