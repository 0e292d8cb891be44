"""The org-scope filter every repository query goes through.

A repository is built for one principal; its `select()` already carries the scope, so a
query that forgets it has to go out of its way (and issue 6 adds row-level security).
"""

from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.auth import Principal


class OrgOwned(Protocol):
    org_path: InstrumentedAttribute[str]


def visible_to(model: Any, principal: Principal) -> ColumnElement[bool]:
    """Rows whose owning org path lies in the principal's subtree."""
    return model.org_path.startswith(principal.path.prefix, autoescape=True)


class ScopedRepository:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def select(self, model: Any, *columns: Any) -> Select[Any]:
        statement = select(*columns) if columns else select(model)
        return statement.where(visible_to(model, self.principal))
