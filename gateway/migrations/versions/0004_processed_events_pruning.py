"""Processed-event ids are pruned after the retention period: an index to find the oldest.

Revision ID: 0004
Revises: 0003
"""

from shared.migrations import create_processed_events_index, drop_processed_events_index

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_processed_events_index()


def downgrade() -> None:
    drop_processed_events_index()
