"""Events never wait on a stranger: delivery state per (event, subscriber), and indexes for pruning.

Revision ID: 0005
Revises: 0004
"""

from shared.migrations import create_outbox_deliveries, drop_outbox_deliveries

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_deliveries()


def downgrade() -> None:
    drop_outbox_deliveries()
