"""Row-level security on every complaint table with an org_path: the database's own scope wall (PostgreSQL only).

Revision ID: 0002
Revises: 0001
"""

from shared import rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ['complaints', 'complaint_timeline', 'complaint_symptoms', 'sla_policies', 'sla_breaches', 'quality_signals']


def upgrade() -> None:
    rls.enable(TABLES, ancestors_read=('sla_policies',))


def downgrade() -> None:
    rls.disable(TABLES)
