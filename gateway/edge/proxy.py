"""The reverse proxy: the hot path of the gateway, so a raw ASGI handler, not a FastAPI route.

Per request: match the prefix, authenticate (cached), spend a rate-limit token, take the
cached internal token, then stream the body up and the response down through the
service's pooled aiohttp session. No dependency injection, no body parsing.
"""

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
import structlog
from opentelemetry import propagate
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.edge.integrity import survey_token
from gateway.edge.limits import ClientGone, body_limit, counted_body, declared_length, too_large
from gateway.edge.ratelimit import remember_headers
from gateway.edge.upstreams import Upstream, is_public, route_for
from shared.auth import INTERNAL_HEADER
from shared.problems import PayloadTooLarge, Problem, ServiceUnavailable, problem_response

logger = logging.getLogger("csloop.gateway.proxy")

# Request headers a service may act on; everything else (Authorization first) stays here.
FORWARDED_REQUEST_HEADERS = frozenset({
    b"content-type", b"content-length", b"content-encoding", b"accept", b"accept-encoding",
    b"accept-language", b"if-match", b"if-none-match", b"idempotency-key", b"user-agent",
    b"traceparent", b"tracestate",
})
# Hop-by-hop headers (RFC 9110 7.6.1), and the ones uvicorn sets on our own response.
DROPPED_RESPONSE_HEADERS = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"date", b"server", b"x-request-id",
})
# Bodies up to this size are read whole and sent in one go: fewer writes, no chunked encoding.
SMALL_BODY = 64 * 1024
BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class GatewayTimeout(Problem):
    status, slug, title = 504, "gateway-timeout", "Gateway timeout"


@dataclass(frozen=True)
class ProxyRoute:
    """Stands in for a Starlette route in `scope["route"]`, so metrics label by prefix."""

    path: str


class ProxyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        match = route_for(scope["path"])
        if match is None:
            return await self.app(scope, receive, send)
        prefix, service = match
        scope["route"] = ProxyRoute(prefix + "*")
        started = False

        async def tracked_send(message: dict) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await _forward(scope, receive, tracked_send, scope["app"].state, service)
        except Problem as problem:
            if started:
                raise
            await problem_response(problem, scope["path"])(scope, receive, send)


async def _forward(scope: Scope, receive: Receive, send: Send, state, service: str) -> None:  # noqa: ANN001
    path = scope["path"]
    headers = _request_headers(scope, traced=state.settings.otel_enabled)
    if is_public(path):
        client = _client_host(scope)
        remember_headers(scope, await state.rate_limiter.admit(f"ip:{client}"))
        # A customer's address reaches the survey service only as a salted hash (edge/integrity.py).
        del headers["x-forwarded-for"]
        if token := survey_token(scope["method"], path):
            headers.update(await state.integrity.headers(state, token, client, headers.get("user-agent", "")))
    else:
        principal = await state.authenticator.authenticate_from(_client_host(scope), headers.pop("authorization", None))
        remember_headers(scope, await state.rate_limiter.admit(principal.subject))
        headers[INTERNAL_HEADER] = state.authenticator.internal_token(principal)
    headers.pop("authorization", None)
    upstream: Upstream = state.upstreams[service]
    if upstream.client is None:
        raise ServiceUnavailable(f"The {service} service is not deployed")
    limit = body_limit(path, state.settings)
    length = declared_length(scope)
    if length is not None and length > limit:
        raise too_large(limit)
    body = await _request_body(scope, receive, length, limit)
    target = scope["raw_path"].decode("latin-1") + _query(scope)
    try:
        async with upstream.request(scope["method"], target, headers=headers, data=body,
                                    allow_redirects=False) as response:
            await _send_response(response, send)
    except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
        raise ServiceUnavailable(f"The {service} service cannot be reached") from exc
    except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise GatewayTimeout(f"The {service} service did not answer in time") from exc
    except aiohttp.ClientError as exc:
        # The streamed request body failed: over the limit, or the caller went away.
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, PayloadTooLarge):
            raise cause from None
        if isinstance(cause, ClientGone):
            return
        raise ServiceUnavailable(f"The {service} service failed: {exc.__class__.__name__}") from exc


def _request_headers(scope: Scope, *, traced: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in FORWARDED_REQUEST_HEADERS or name == b"authorization":
            headers[name.decode("latin-1")] = value.decode("latin-1")
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        headers["x-request-id"] = request_id
    headers["x-forwarded-for"] = _client_host(scope)
    # With tracing on, the gateway's request span becomes the parent (replacing the caller's
    # traceparent); with it off the caller's passes through, and the propagators, which would
    # inject nothing, are not asked (a hundredth of a proxied call).
    if traced:
        propagate.inject(headers)
    return headers


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _query(scope: Scope) -> str:
    query = scope.get("query_string", b"")
    return "?" + query.decode("latin-1") if query else ""


async def _request_body(scope: Scope, receive: Receive, length: int | None, limit: int):  # noqa: ANN202
    """bytes for small bodies, an async iterator (streamed, counted) for large or chunked ones."""
    if length is None and scope["method"] in BODYLESS_METHODS:
        return None
    if length is not None and length <= SMALL_BODY:
        try:
            return b"".join([chunk async for chunk in counted_body(receive, limit)])
        except ClientGone:
            return b""
    return counted_body(receive, limit)


async def _send_response(response: aiohttp.ClientResponse, send: Send) -> None:
    headers = [
        (name.lower(), value) for name, value in response.raw_headers
        if name.lower() not in DROPPED_RESPONSE_HEADERS
    ]
    length = response.content_length
    if length is not None and length <= SMALL_BODY:
        body = await response.read()
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    async for chunk in response.content.iter_any():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
