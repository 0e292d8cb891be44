"""Cursor pagination: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.

Keyset on (created_at, id), so a page costs the same at row 10 and at row 10 million and
rows inserted meanwhile are neither skipped nor repeated. A delta feed (`updated_since`) pages
on (updated_at, id) instead; its cursors name that key, so one list's cursor is refused by the other.
"""

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.problems import BadRequest, UnprocessableContent

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(created_at: datetime, row_id: uuid.UUID, by: str = "created_at") -> str:
    position = [created_at.isoformat(), str(row_id)] + ([] if by == "created_at" else [by])
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, by: str = "created_at") -> tuple[datetime, uuid.UUID]:
    """The position a cursor names. Anything this API did not write is a 400, never a 500: a
    cursor is caller input, and a naive or out-of-range time would fail in the database."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, row_id, *key = json.loads(base64.urlsafe_b64decode(padded))
        if (key or ["created_at"]) != [by]:
            raise ValueError("a cursor of another ordering")
        position = datetime.fromisoformat(created_at)
        if position.tzinfo is None:
            raise ValueError("a cursor's time carries its offset")
        return position.astimezone(UTC), uuid.UUID(row_id)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadRequest("The cursor is not one this API returned", errors=[{"field": "cursor", "message": "invalid cursor"}]) from exc


async def keyset_page(session: AsyncSession, statement: Select[Any], model: Any, params: PageParams,
                      *, by: str = "created_at") -> tuple[list[Any], str | None]:
    """Rows of `statement` after the cursor, oldest first by the `by` time column (then id), and
    the cursor of the next page."""
    moment = getattr(model, by)
    if params.cursor:
        at, row_id = decode_cursor(params.cursor, by)
        statement = statement.where(or_(moment > at, and_(moment == at, model.id > row_id)))
    statement = statement.order_by(moment, model.id).limit(params.limit + 1)
    rows = list((await session.scalars(statement)).all())
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    return rows, encode_cursor(getattr(rows[-1], by), rows[-1].id, by)


async def _updated_since(updated_since: Annotated[AwareDatetime | None, Query(description=(
    "RFC 3339 time with offset: only records changed at or after it, ordered by (updated_at, id), the delta "
    "feed of a sync. Keep the largest `updated_at` you received and pass it next time (rows at that instant "
    "come again, so none is lost); a change committed while you page shows on the next run."))] = None,
) -> datetime | None:
    if updated_since is None:
        return None
    try:
        return updated_since.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 has no UTC instant
        raise UnprocessableContent("updated_since is out of range",
                                   errors=[{"field": "updated_since", "message": "out of range"}]) from exc


UpdatedSince = Annotated[datetime | None, Depends(_updated_since)]


async def list_page(session: AsyncSession, statement: Select[Any], model: Any, params: PageParams,
                    updated_since: datetime | None) -> tuple[list[Any], str | None]:
    """A list page: by creation, or, given `updated_since`, the delta feed of the rows changed
    at or after it, oldest change first (a row changed again moves to the end: sync reads it again)."""
    if updated_since is None:
        return await keyset_page(session, statement, model, params)
    return await keyset_page(session, statement.where(model.updated_at >= updated_since), model, params, by="updated_at")
