"""Idempotency-Key for creating writes: a replay returns the first response.

Pure ASGI middleware, so every POST of a service gets it without the endpoint knowing. The
key is claimed in its own transaction before the request runs (a concurrent duplicate gets
409), then holds the response before the caller receives it. A 5xx releases the key so the client may
retry. A different body under the same key is a 422: the key names one request.
"""

import hashlib
import json
from typing import Any

from sqlalchemy import JSON, Column, Integer, LargeBinary, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import INTERNAL_HEADER
from shared.db import UTCDateTime, utcnow
from shared.problems import Conflict, Problem, UnprocessableContent

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 200
# Bodies larger than this (bulk imports) are not fingerprinted; imports upsert and so are
# idempotent by themselves.
MAX_FINGERPRINTED_BODY = 1024 * 1024
REPLAYED_HEADERS = {b"content-type", b"etag", b"location"}


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys", metadata,
        Column("scope_key", String(64), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", Integer),
        Column("headers", JSON),
        Column("body", LargeBinary),
        Column("created_at", UTCDateTime, nullable=False),
    )


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        key = headers.get(HEADER)
        if not key or not _small_body(headers):
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        state = scope["app"].state
        try:
            await self._run_once(scope, send, state, headers, key, body)
        except Problem as problem:
            await _send_problem(send, problem)

    async def _run_once(self, scope: Scope, send: Send, state: Any, headers: dict[bytes, bytes], key: bytes, body: bytes) -> None:
        if len(key) > MAX_KEY_LENGTH:
            raise UnprocessableContent("Idempotency-Key is at most 200 characters",
                                       errors=[{"field": "Idempotency-Key", "message": "too long"}])
        scope_key = caller_scoped_key(_subject(state, headers), scope["path"], key)
        fingerprint = hashlib.sha256(body).hexdigest()
        table: Table = state.tables.idempotency_keys
        stored = await _claim(state.sessions, table, scope_key, fingerprint)
        if stored is not None:
            return await _replay(send, stored, fingerprint)

        # The response is held back until the key holds it: a client that retries the moment it
        # has the answer must get the replay, never "still being processed".
        captured: dict[str, Any] = {"body": b""}
        held: list[Message] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {k.decode(): v.decode() for k, v in message.get("headers", []) if k in REPLAYED_HEADERS}
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            held.append(message)

        try:
            await self.app(scope, _replay_receive(body), capture)
        finally:
            await _settle(state.sessions, table, scope_key, captured)
        for message in held:
            await send(message)


def caller_scoped_key(subject: str, path: str, key: bytes) -> str:
    """The row's key: the caller's subject and the path are in it, so a key names one caller's
    request to one endpoint and no other caller can replay (or block) it."""
    return hashlib.sha256(b"\0".join([subject.encode(), path.encode(), key])).hexdigest()


def check_replayable(stored: Any, fingerprint: str) -> None:
    """A stored key answers only the request it was first sent with, and only once that has finished."""
    if stored["fingerprint"] != fingerprint:
        raise UnprocessableContent("This Idempotency-Key was used with a different request body",
                                   errors=[{"field": "Idempotency-Key", "message": "reused with another body"}])
    if stored["status"] is None:
        raise Conflict("A request with this Idempotency-Key is still being processed")


def _small_body(headers: dict[bytes, bytes]) -> bool:
    """Only bodies of a known, small length are buffered; a chunked upload streams through."""
    length = headers.get(b"content-length")
    return length is not None and length.isdigit() and int(length) <= MAX_FINGERPRINTED_BODY


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _subject(state: Any, headers: dict[bytes, bytes]) -> str:
    token = headers.get(INTERNAL_HEADER.lower().encode())
    if not token:
        return "anonymous"
    return state.token_verifier.verify(token.decode()).subject


async def _claim(sessions: Any, table: Table, scope_key: str, fingerprint: str) -> Any:
    """Claim the key for this request; returns the stored row when it was already claimed."""
    async with sessions() as session:
        try:
            async with session.begin():
                await session.execute(insert(table).values(scope_key=scope_key, fingerprint=fingerprint, created_at=utcnow()))
            return None
        except IntegrityError:
            pass
        row = (await session.execute(select(table).where(table.c.scope_key == scope_key))).mappings().first()
        return row


async def _replay(send: Send, stored: Any, fingerprint: str) -> None:
    check_replayable(stored, fingerprint)
    headers = [(k.encode(), v.encode()) for k, v in (stored["headers"] or {}).items()]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": stored["status"], "headers": headers})
    await send({"type": "http.response.body", "body": stored["body"] or b""})


async def _settle(sessions: Any, table: Table, scope_key: str, captured: dict[str, Any]) -> None:
    async with sessions() as session, session.begin():
        status = captured.get("status")
        if status is None or status >= 500:
            await session.execute(delete(table).where(table.c.scope_key == scope_key))
            return
        await session.execute(update(table).where(table.c.scope_key == scope_key).values(
            status=status, headers=captured["headers"], body=captured["body"],
        ))


async def _send_problem(send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body()).encode()
    await send({"type": "http.response.start", "status": problem.status,
                "headers": [(b"content-type", b"application/problem+json")]})
    await send({"type": "http.response.body", "body": body})
