"""`updated_at` on the gateway's own tables, for the delta feeds of its lists (`?updated_since=`):
every existing row counts as last changed when it was made.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("orgs", "api_keys", "users", "oauth_clients", "webhook_subscriptions", "webhook_deliveries")


def upgrade() -> None:
    for table in TABLES:
        # Nullable first, filled, then NOT NULL: SQLite cannot add a NOT NULL column without a constant default.
        op.add_column(table, sa.Column("updated_at", UTCDateTime, nullable=True))
        op.execute(f"UPDATE {table} SET updated_at = created_at")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("updated_at", existing_type=UTCDateTime, nullable=False)
    # A subscription's deliveries are the one gateway list that grows without bound.
    op.create_index("ix_webhook_deliveries_subscription_updated", "webhook_deliveries",
                    ["subscription_id", "updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_subscription_updated", "webhook_deliveries")
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("updated_at")
