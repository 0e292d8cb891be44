"""The invitations' index by status and due time becomes two partial indexes: the due job's
(`scheduled`, by due time) and the reminders' (`sent` and not reminded, by sending time).

The full index let a plan of the submission's claim (`token = ... AND status = ...`) find the
invitation by its status instead of its token: on a small table the two cost the same, and a
generic plan a pooled connection made then was kept, reading every sent invitation at each claim
as they grew. A partial index serves only statements naming its status in their text, which the
claim, binding the status as a parameter, does not. Both are smaller, too: most invitations are
neither scheduled nor waiting for a reminder.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SCHEDULED = sa.text("status = 'scheduled'")
UNREMINDED = sa.text("status = 'sent' AND reminded_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_invitations_scheduled_due", "invitations", ["due_at"],
                    postgresql_where=SCHEDULED, sqlite_where=SCHEDULED)
    op.create_index("ix_invitations_unreminded_sent", "invitations", ["sent_at"],
                    postgresql_where=UNREMINDED, sqlite_where=UNREMINDED)
    op.drop_index("ix_invitations_due", "invitations")


def downgrade() -> None:
    op.create_index("ix_invitations_due", "invitations", ["status", "due_at"])
    op.drop_index("ix_invitations_unreminded_sent", "invitations")
    op.drop_index("ix_invitations_scheduled_due", "invitations")
