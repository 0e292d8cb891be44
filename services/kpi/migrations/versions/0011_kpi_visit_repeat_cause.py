"""Visit facts keep the repeat visit's cause (issue 18, EDER): why the fix it failed did not hold,
for `GET /v1/kpi/fir-causes`. Visits recorded before name none (`unknown`) until a rebuild.

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
    op.add_column("kpi_visits", sa.Column("repeat_cause", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kpi_visits") as batch:
        batch.drop_column("repeat_cause")
