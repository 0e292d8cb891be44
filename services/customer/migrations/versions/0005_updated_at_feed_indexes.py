"""Indexes for the delta feeds (`?updated_since=`), which page on (updated_at, id).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FEEDS = ("customers", "vehicles", "service_visits", "follow_ups")


def upgrade() -> None:
    for table in FEEDS:
        op.create_index(f"ix_{table}_updated_at_id", table, ["updated_at", "id"])


def downgrade() -> None:
    for table in FEEDS:
        op.drop_index(f"ix_{table}_updated_at_id", table)
