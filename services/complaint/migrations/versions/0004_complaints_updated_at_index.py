"""An index for the complaints' delta feed (`?updated_since=`), which pages on (updated_at, id).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_complaints_updated_at_id", "complaints", ["updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_complaints_updated_at_id", "complaints")
