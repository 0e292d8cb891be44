"""Row-level security: the database's own org-scope wall behind the repositories' filter (PostgreSQL only).

Every service table with an `org_path` column has a policy that shows a row only when its
path starts with the transaction's `csloop.org_path` setting; with no setting nothing is
visible. Sessions from `shared.db.session_factory` set it at the start of every transaction
from `session.info["org_path"]`: the system principal's "/" by default (relay, consumers,
jobs), the caller's path in a request session (`shared.service_app.request_session`).

The policy binds only a role that is neither a superuser nor exempt (BYPASSRLS); FORCE makes
it bind the tables' owner too, so the services connect as a plain role (tests: `csloop_app`,
see tests/reliability/README.md). SQLite has no row-level security: there, the scope filter
of `shared.scope` is the only wall.
"""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SETTING = "csloop.org_path"
SYSTEM_PATH = "/"
# NULLIF: after a transaction that set it, an unset custom setting reads '' on that connection, not NULL.
_CURRENT = f"NULLIF(current_setting('{SETTING}', true), '')"
SUBTREE = f"starts_with(org_path, {_CURRENT})"
ANCESTORS = f"starts_with({_CURRENT}, org_path)"


_SET = text(f"SELECT set_config('{SETTING}', :path, true)")  # built once: every transaction runs it
# The same on the driver (asyncpg), for the reads that run without the ORM (shared.db.fetch_one).
DRIVER_SET = f"SELECT set_config('{SETTING}', $1, true)"
BEGIN = "BEGIN"
# What a path written as a literal may hold: an org path is org codes (shared.types.ORG_CODE_PATTERN)
# between slashes, none of which a literal reads specially, whatever the server's settings.
_LITERAL_PATH = re.compile(r"[/A-Z0-9_-]*")


def begin_with_setting(path: str) -> str:
    """BEGIN and the transaction's org setting as one simple-query message, the path written as a
    literal: one round trip where BEGIN and a bound setting take two (a GET of one row pays four
    instead of three). A path holding anything but an org path's characters gets `BEGIN` alone,
    and the caller binds the path (DRIVER_SET)."""
    if _LITERAL_PATH.fullmatch(path) is None:
        return BEGIN
    return f"BEGIN; SELECT set_config('{SETTING}', '{path}', true)"


def apply_setting(connection: Any, path: str | None) -> None:
    """Set the org path for the rest of this transaction on a sync connection (no-op off PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_SET, {"path": path or ""})


@asynccontextmanager
async def acting_for(session: AsyncSession, path: str | None) -> AsyncIterator[None]:
    """Widen (or narrow) the database wall for a block of work that crosses scope on purpose."""
    previous = session.info.get("org_path")
    session.info["org_path"] = path
    await session.run_sync(lambda sync: apply_setting(sync.connection(), path))
    try:
        yield
    finally:
        session.info["org_path"] = previous
        if session.in_transaction():
            await session.run_sync(lambda sync: apply_setting(sync.connection(), previous))


def enable(tables: list[str], *, ancestors_read: tuple[str, ...] = ()) -> None:
    """Alembic: turn the wall on for `tables`; `ancestors_read` tables are also readable from below.

    Surveys and SLA policies owned at path P serve every org below P, so their rows are
    readable by descendants of P too; writes stay subtree-only.
    """
    from alembic import op

    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY org_scope ON {table} USING ({SUBTREE}) WITH CHECK ({SUBTREE})")
        if table in ancestors_read:
            op.execute(f"CREATE POLICY org_scope_ancestors_read ON {table} FOR SELECT USING ({ANCESTORS})")


def disable(tables: list[str]) -> None:
    from alembic import op

    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS org_scope_ancestors_read ON {table}")
        op.execute(f"DROP POLICY IF EXISTS org_scope ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
