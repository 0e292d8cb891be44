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

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.problems import BadRequest

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
