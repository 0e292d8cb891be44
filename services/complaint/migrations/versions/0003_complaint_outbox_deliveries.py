"""Events never wait on a stranger: delivery state per (event, subscriber), and indexes for pruning.

Revision ID: 0003
Revises: 0002
"""

from shared.migrations import create_outbox_deliveries, drop_outbox_deliveries

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_outbox_deliveries()


def downgrade() -> None:
    drop_outbox_deliveries()
