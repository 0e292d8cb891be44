"""Request-body limits: 413 before a byte is forwarded when Content-Length says too much,
and while streaming when a chunked body grows past the limit.

Only two things take the large limit: the routed bulk imports (after the caller is
authenticated) and `/internal/events` (after its internal token is verified). A body sent to
a path nothing serves is never read.
"""

from collections.abc import AsyncIterator

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import GatewaySettings
from gateway.edge.upstreams import is_import_path, route_for
from shared.auth import INTERNAL_HEADER
from shared.problems import Forbidden, PayloadTooLarge, Problem, Unauthorized, problem_response

INTERNAL_EVENTS = "/internal/events"


class ClientGone(Exception):
    """The caller disconnected while sending its body."""


def body_limit(path: str, settings: GatewaySettings) -> int:
    # A relay's event batch (up to 200 events) can outgrow the 1 MiB of an ordinary request.
    bulk = is_import_path(path) or path == INTERNAL_EVENTS
    return settings.max_import_body_bytes if bulk else settings.max_body_bytes


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds {limit} bytes")


async def counted_body(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, raising PayloadTooLarge once it passes `limit`."""
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


class BodyLimitMiddleware:
    """Limits for the gateway's own routes (the proxy applies its own while streaming).

    Own routes take small JSON, so a chunked body is buffered here, up to the limit, and
    replayed: FastAPI would otherwise turn an error raised mid-read into a 400.
    """

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_for(scope["path"]) is not None or not _served(scope):
            # Proxied (limited while streaming), or nothing serves it: the router answers 404 or
            # 405 without reading the body, and nothing here buffers it.
            return await self.app(scope, receive, send)
        if scope["path"] == INTERNAL_EVENTS:
            try:
                _check_internal_token(scope)
            except Problem as problem:
                return await problem_response(problem, scope["path"])(scope, receive, send)
        limit = body_limit(scope["path"], self.settings)
        length = declared_length(scope)
        if length is not None and length > limit:
            return await problem_response(too_large(limit), scope["path"])(scope, receive, send)
        if length is not None or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return await self.app(scope, receive, send)
        try:
            body = b"".join([chunk async for chunk in counted_body(receive, limit)])
        except PayloadTooLarge as problem:
            return await problem_response(problem, scope["path"])(scope, receive, send)
        except ClientGone:
            return None
        await self.app(scope, _replay(body, receive), send)


def _served(scope: Scope) -> bool:
    """Whether one of the gateway's own routes takes this method and path."""
    return any(route.matches(scope)[0] is Match.FULL for route in scope["app"].router.routes)


def _check_internal_token(scope: Scope) -> None:
    """Before the body of `/internal/events` is read: only services post there."""
    name = INTERNAL_HEADER.lower().encode()
    token = next((value.decode("latin-1") for key, value in scope["headers"] if key == name), None)
    if not token:
        raise Unauthorized("An internal token is required")
    if "internal" not in scope["app"].state.token_verifier.verify(token).scopes:
        raise Forbidden("Only CSLoop services deliver events")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
