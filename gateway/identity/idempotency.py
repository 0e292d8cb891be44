"""Idempotency-Key on the gateway's own creates: orgs, API keys, users, OAuth clients, webhooks.

The services honour the key in a middleware (shared/idempotency.py) that claims it in a
transaction of its own and keeps whatever the endpoint answered. The gateway's creates take
the same rules through a dependency instead, for two reasons:
- The claim and the answer are written in the request's transaction, so they commit with the
  record created or roll back with it: a crash leaves neither a record without its key nor a
  key stuck "in progress". An error answer rolls back with the rest, so the key stays free
  and a retry runs again.
- Three creates answer a secret shown once (an API key, an OAuth client's secret, a webhook's
  signing secret). The row never holds it: it holds, and a replay answers, a 409 "already
  created" naming the id (and its Location where the record can be read).

Same key and body: the first answer again (status, body, Location), marked
`Idempotent-Replayed`. Same key, another body: 422. A duplicate sent while the first runs
waits for it to end, then gets a 409 (a retry gets the replay). The key is the caller's own:
its subject and the path are part of the row's key.

The body's fingerprint is an HMAC under a key derived from the internal secret, not a bare
SHA-256: a user's body holds a password, and a fast unkeyed hash of it would be a copy at
rest that a guess can be checked against.
"""

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from gateway.deps import Caller, SessionDep
from gateway.repository import IdempotencyRecords
from shared.idempotency import MAX_KEY_LENGTH, caller_scoped_key, check_replayable
from shared.problems import Conflict, problem_response

Model = TypeVar("Model", bound=BaseModel)
CREATED = 201


class AlreadyCreated(Conflict):
    slug, title = "already-created", "Already created"


class Replayed(Exception):
    """A finished create's stored answer, sent again instead of running the endpoint."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


async def replayed_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replayed)
    return exc.response


@dataclass
class Once:
    """What a create does with its Idempotency-Key: keep its answer (`records` is None without a key)."""

    records: IdempotencyRecords | None
    scope_key: str
    response: Response
    path: str

    async def answer(self, body: Model, *, location: str | None = None) -> Model:
        """Answer `body` (201), kept for a replay."""
        headers = {"content-type": "application/json"}
        if location:
            self.response.headers["Location"] = headers["location"] = location
        if self.records:
            await self.records.hold(self.scope_key, CREATED, headers, body.model_dump_json().encode())
        return body

    async def answer_secret(self, body: Model, *, created: str, record_id: str, location: str | None = None) -> Model:
        """Answer `body`, which holds a secret shown once; a replay gets a 409 naming `record_id`."""
        if location:
            self.response.headers["Location"] = location
        if self.records:
            kept = problem_response(AlreadyCreated(
                f"This Idempotency-Key already created {created}. Its secret was shown once, in that answer, and is "
                "not kept: if it was lost, revoke or delete that record and create another.", id=record_id), self.path)
            headers = {"content-type": kept.headers["content-type"], **({"location": location} if location else {})}
            await self.records.hold(self.scope_key, kept.status_code, headers, bytes(kept.body))
        return body


def _fingerprint(secret: str, body: bytes) -> str:
    key = hmac.new(secret.encode(), b"csloop idempotency fingerprint", hashlib.sha256).digest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


async def idempotent_create(
    request: Request, caller: Caller, session: SessionDep, response: Response,
    idempotency_key: Annotated[str, Header(
        alias="Idempotency-Key", max_length=MAX_KEY_LENGTH,
        description="A key of yours (a UUID) naming this create: sent again with the same body, it answers what "
                    "the first request answered and creates nothing; with another body, 422. Where the first answer "
                    "showed a secret, a replay is a 409 naming the id created, never the secret.",
    )] = "",
) -> Once:
    path = request.url.path
    if not idempotency_key:  # an empty key is no key, as in the services
        return Once(None, "", response, path)
    records = IdempotencyRecords(session)
    scope_key = caller_scoped_key(caller.subject, path, idempotency_key.encode())
    fingerprint = _fingerprint(request.app.state.settings.internal_secret, await request.body())
    stored = await records.stored(scope_key)
    if stored is None:
        if await records.claim(scope_key, fingerprint):
            return Once(records, scope_key, response, path)
        raise Conflict("A request with this Idempotency-Key was being processed; retry to get its answer")
    check_replayable(stored, fingerprint)
    raise Replayed(Response(content=stored["body"], status_code=stored["status"],
                            headers={**stored["headers"], "Idempotent-Replayed": "true"}))


IdempotentCreate = Annotated[Once, Depends(idempotent_create)]
