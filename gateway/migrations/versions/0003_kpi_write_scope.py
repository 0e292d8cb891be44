"""The kpi:write scope: KPI targets (and later the kpi service's other writes) take it instead of orgs:admin.

Every key, user and OAuth client that could set targets before (kpi:read and orgs:admin)
keeps that power: it is granted kpi:write.

Revision ID: 0003
Revises: 0002
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

HOLDERS = ("api_keys", "users", "oauth_clients")


def _grant(table: str, add: bool) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, scopes FROM {table}")).all()
    for row_id, raw in rows:
        scopes = set(json.loads(raw) if isinstance(raw, str) else raw or [])
        if add and {"kpi:read", "orgs:admin"} <= scopes and "kpi:write" not in scopes:
            scopes.add("kpi:write")
        elif not add and "kpi:write" in scopes:
            scopes.discard("kpi:write")
        else:
            continue
        bind.execute(sa.text(f"UPDATE {table} SET scopes = :scopes WHERE id = :id").bindparams(
            sa.bindparam("scopes", type_=sa.JSON)), {"scopes": sorted(scopes), "id": row_id})


def upgrade() -> None:
    for table in HOLDERS:
        _grant(table, add=True)


def downgrade() -> None:
    for table in HOLDERS:
        _grant(table, add=False)
