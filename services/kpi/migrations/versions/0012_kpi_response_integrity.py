"""Survey integrity on the response facts (issue 17): the status and flags, when the response was
reviewed, whether it came invited (the response rate's numerator), and whether its submission is
known yet (an integrity change may arrive first).

Responses recorded before this revision are clean and, imported ones included, counted as invited
until `csloop kpi rebuild` replays them: that only matters for one of them flagged later.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = ("invited", "integrity_status", "integrity_flags", "reviewed_at", "recorded")


def upgrade() -> None:
    with op.batch_alter_table("kpi_responses") as table:
        table.add_column(sa.Column("invited", sa.Boolean(), nullable=False, server_default=sa.true()))
        table.add_column(sa.Column("integrity_status", sa.String(10), nullable=False, server_default="clean"))
        table.add_column(sa.Column("integrity_flags", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("reviewed_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("recorded", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("kpi_responses") as table:
        for column in reversed(COLUMNS):
            table.drop_column(column)
