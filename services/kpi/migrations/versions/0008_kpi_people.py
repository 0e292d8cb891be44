"""People on the facts (issue 15): who served the customer on the visit or delivery a response
follows, the repair order's advisor and technician, and the dealers' staff (names and roles).

Facts recorded before this revision name nobody until `csloop kpi rebuild` replays them.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from shared import rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

RESPONSE_STAFF = ("advisor", "technician", "sales_consultant")
VISIT_STAFF = ("advisor", "technician")


def upgrade() -> None:
    with op.batch_alter_table("kpi_responses") as table:
        for column in RESPONSE_STAFF:
            table.add_column(sa.Column(column, sa.String(100), nullable=True))
    with op.batch_alter_table("kpi_visits") as table:
        for column in VISIT_STAFF:
            table.add_column(sa.Column(column, sa.String(100), nullable=True))
    op.create_table(
        "kpi_staff",
        sa.Column("org_path", sa.String(400), primary_key=True),
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    rls.enable(["kpi_staff"])


def downgrade() -> None:
    rls.disable(["kpi_staff"])
    op.drop_table("kpi_staff")
    with op.batch_alter_table("kpi_visits") as table:
        for column in VISIT_STAFF:
            table.drop_column(column)
    with op.batch_alter_table("kpi_responses") as table:
        for column in RESPONSE_STAFF:
            table.drop_column(column)
