"""The org-scope wall every repository query stands behind.

A repository is built for one principal. Its base offers only statements that already carry
the principal's scope (`select`, `update`, `delete`), `get_visible`, which answers a row the
principal may see or raises NotFound, and `publish`, which records an event in the same
transaction. A read or write across the tree (a token lookup, a consumer applying an event,
a job of the system principal) is a named repository method whose docstring says why.
Nothing outside repository modules builds a statement or touches a session:
tests/shared/test_scope_wall.py walks the source to keep it so. On PostgreSQL, row-level
security (shared/rls.py) is the second wall.
"""

import functools
import re
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import ColumnElement, bindparam, Delete, Select, Table, Update, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.auth import Principal
from shared.db import fetch_one
from shared.events import CloudEvent
from shared.outbox import record_event
from shared.problems import NotFound

Row = TypeVar("Row")


class OrgOwned(Protocol):
    org_path: InstrumentedAttribute[str]


def visible_to(model: Any, principal: Principal) -> ColumnElement[bool]:
    """Rows whose owning org path lies in the principal's subtree."""
    return model.org_path.startswith(principal.path.prefix, autoescape=True)


@functools.cache
def _visible_by_id(table: Table) -> Select[Any]:
    return select(table).where(table.c.id == bindparam("ident"), table.c.org_path.like(bindparam("scope"), escape="/"))


def like_prefix(prefix: str) -> str:
    """A LIKE pattern for paths starting with `prefix` (escape character '/'), as `startswith`
    with autoescape would bind it."""
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _label(model: Any) -> str:
    """`ServiceVisit` -> `service visit`: how a 404 names what it did not find."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


class ScopedRepository:
    # The service's outbox table; `publish` writes there (None: the service publishes nothing).
    outbox: ClassVar[Table | None] = None

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def select(self, model: Any, *columns: Any) -> Select[Any]:
        statement = select(*columns) if columns else select(model)
        return statement.where(self.readable(model))

    def update(self, model: Any) -> Update:
        return update(model).where(visible_to(model, self.principal))

    def delete(self, model: Any) -> Delete:
        return delete(model).where(visible_to(model, self.principal))

    def readable(self, model: Any) -> ColumnElement[bool]:
        """The rows of `model` this principal may read: its subtree. A repository whose rows
        serve the orgs below their owner too (surveys, SLA policies) widens it for that model."""
        return visible_to(model, self.principal)

    async def get_visible(self, model: type[Row], ident: Any, *, key: Any = None, missing: str | None = None,
                          order_by: Any = None) -> Row:
        """The row whose `key` column (the id by default) is `ident`, if the principal may read it.

        Any other row is answered as missing (404, never 403): what lies outside the caller's
        subtree does not exist for it. `order_by` picks one of several matches (the newest).
        """
        column = key if key is not None else model.id  # type: ignore[attr-defined]
        statement = self.select(model).where(column == ident)
        if order_by is not None:
            statement = statement.order_by(order_by)
        row = (await self.session.scalars(statement.limit(1))).first()
        if row is None:
            raise NotFound(missing or f"No {_label(model)} {ident}")
        return row

    async def read_visible(self, table: Table, ident: Any, *, missing: str) -> Any:
        """The row of `table` whose id is `ident`, if the principal may read it (else 404), for
        the hot reads of one record: the statement is built once per table with the caller's
        scope as one of its two parameters, and fetched as a plain row (shared.db.fetch_one)."""
        row = await fetch_one(self.session, _visible_by_id(table),
                              {"ident": ident, "scope": like_prefix(self.principal.path.prefix)})
        if row is None:
            raise NotFound(missing)
        return row

    async def publish(self, *events: CloudEvent) -> None:
        """Record events in the outbox, in this transaction: they leave only if it commits."""
        assert self.outbox is not None, f"{type(self).__name__} has no outbox"
        for event in events:
            await record_event(self.session, self.outbox, event)

    async def flush(self) -> None:
        """Write pending changes now (a version bump, a unique key) so the database checks them."""
        await self.session.flush()
