"""The customer outbox, written by the 100,000 (an import's events): a new row goes into two
indexes instead of four. The pruning index keeps sent rows only (the housekeeping asks for
`sent_at < cutoff`, which only sent rows match), and `event_id` loses its unique index (ids are
unique by construction; consumers dedupe on them). See `shared.outbox.outbox_table(bulk_writes=True)`.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SENT = sa.text("sent_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"], postgresql_where=SENT, sqlite_where=SENT)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_event_id", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.create_unique_constraint("uq_outbox_event_id", ["event_id"])
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])
