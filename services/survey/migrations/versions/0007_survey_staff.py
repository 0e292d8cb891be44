"""Invitations and responses name who served the customer on the visit or delivery they follow
(issue 15): the repair order's advisor and technician, the delivery's sales consultant, as staff
codes of the dealer. A response copies its invitation's; an imported third-party row names its own.

Rows made before this revision name nobody: the visits and deliveries they followed are the
customer service's, and the survey service never kept who served on them.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("invitations", "survey_responses")
STAFF = ("advisor", "technician", "sales_consultant")


def upgrade() -> None:
    for table in TABLES:
        for column in STAFF:
            op.add_column(table, sa.Column(column, sa.String(100), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        for column in STAFF:
            op.drop_column(table, column)
