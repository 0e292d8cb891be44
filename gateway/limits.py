"""Request-body limits: 413 before a byte is forwarded when Content-Length says too much,
and while streaming when a chunked body grows past the limit."""

from collections.abc import AsyncIterator

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import GatewaySettings
from gateway.upstreams import route_for
from shared.problems import PayloadTooLarge, problem_response


class ClientGone(Exception):
    """The caller disconnected while sending its body."""


def body_limit(path: str, settings: GatewaySettings) -> int:
    # A relay's event batch (up to 200 events) can outgrow the 1 MiB of an ordinary request.
    bulk = path.endswith("/import") or path == "/internal/events"
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
        if scope["type"] != "http" or route_for(scope["path"]) is not None:
            return await self.app(scope, receive, send)
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


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
