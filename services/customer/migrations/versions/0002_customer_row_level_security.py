"""Row-level security on every customer table with an org_path: the database's own scope wall (PostgreSQL only).

Revision ID: 0002
Revises: 0001
"""

from shared import rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ['customers', 'vehicles', 'deliveries', 'service_visits', 'prospects', 'follow_ups']


def upgrade() -> None:
    rls.enable(TABLES)


def downgrade() -> None:
    rls.disable(TABLES)
