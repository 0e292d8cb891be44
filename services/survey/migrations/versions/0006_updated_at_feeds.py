"""Invitations and responses get `updated_at`, kept on every write, for the delta feeds
(`?updated_since=`), and an index on (updated_at, id) each, the order those feeds page in.

Existing rows take the latest time they are known to have changed: an invitation its answer,
reminder, send or creation; a response its submission (an erasure's blanking left no time).
The column is added NOT NULL with a placeholder default, overwritten at once: SQLite can only make
a column NOT NULL by copying the table, and dropping the old invitations table fails on the
responses that reference it. PostgreSQL drops the default; SQLite keeps it, never used (every
write sets the value).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PLACEHOLDER = "1970-01-01 00:00:00.000000"
BACKFILL = {"invitations": "COALESCE(responded_at, reminded_at, sent_at, created_at)", "survey_responses": "created_at"}


def upgrade() -> None:
    for table, latest in BACKFILL.items():
        op.add_column(table, sa.Column("updated_at", UTCDateTime, nullable=False, server_default=PLACEHOLDER))
        op.execute(f"UPDATE {table} SET updated_at = {latest}")
        if op.get_bind().dialect.name == "postgresql":
            op.alter_column(table, "updated_at", server_default=None)
        op.create_index(f"ix_{table}_updated_at_id", table, ["updated_at", "id"])


def downgrade() -> None:
    for table in BACKFILL:
        op.drop_index(f"ix_{table}_updated_at_id", table)
        op.drop_column(table, "updated_at")
