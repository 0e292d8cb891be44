"""Cursor pages (`{"items": [...], "next_cursor": ...}`, `?limit=&cursor=`) as lazy iterators."""

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from csloop_sdk.transport import Transport

T = TypeVar("T", bound=BaseModel)
Parse = Callable[[dict[str, Any]], T]


class Pages(Generic[T]):
    """Iterate for every item across pages (one request per page, made when needed);
    `.pages()` for the pages themselves. `page_size` is sent as `limit`. `model` parses an item: a
    model class, or a function choosing one (a feed mixing records and tombstones)."""

    def __init__(self, transport: Transport, path: str, model: type[T] | Parse[T], params: dict[str, Any] | None = None,
                 page_size: int | None = None) -> None:
        self._transport = transport
        self._path = path
        self._parse: Parse[T] = model.model_validate if isinstance(model, type) else model
        self._params = {**(params or {}), "limit": page_size}

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[T]]:
        params = dict(self._params)
        while True:
            body = self._transport.json("GET", self._path, params=params)
            yield [self._parse(item) for item in body["items"]]
            if not body.get("next_cursor"):
                return
            params["cursor"] = body["next_cursor"]

    def first(self) -> T | None:
        return next(iter(self), None)
