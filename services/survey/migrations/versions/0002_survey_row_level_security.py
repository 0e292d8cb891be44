"""Row-level security on every survey table with an org_path: the database's own scope wall (PostgreSQL only).

Revision ID: 0002
Revises: 0001
"""

from shared import rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ['surveys', 'survey_versions', 'invitations', 'survey_responses', 'customer_consents']


def upgrade() -> None:
    rls.enable(TABLES, ancestors_read=('surveys', 'survey_versions'))


def downgrade() -> None:
    rls.disable(TABLES)
