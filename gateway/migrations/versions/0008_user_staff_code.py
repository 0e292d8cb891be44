"""Users gain `staff_code`: their staff code at their dealer, so the desk knows whose calls are
"today's" (issue 14, API.md Staff), and `version`, the ETag of the PATCH that sets it.

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
    op.add_column("users", sa.Column("staff_code", sa.String(100), nullable=True))
    op.add_column("users", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("version")
        batch.drop_column("staff_code")
