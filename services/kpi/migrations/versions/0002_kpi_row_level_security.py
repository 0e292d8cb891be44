"""Row-level security on every kpi table with an org_path: the database's own scope wall (PostgreSQL only).

Revision ID: 0002
Revises: 0001
"""

from shared import rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ['kpi_visits', 'kpi_deliveries', 'kpi_complaints', 'kpi_followups', 'kpi_alerts', 'kpi_invitations', 'kpi_responses', 'kpi_rollups', 'kpi_factor_rollups', 'kpi_targets']


def upgrade() -> None:
    rls.enable(TABLES)


def downgrade() -> None:
    rls.disable(TABLES)
