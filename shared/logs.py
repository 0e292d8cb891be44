"""Structured logs (structlog) carrying the request id, and the middleware that sets it."""

import logging
import random
import re
import sys
import time
from datetime import UTC, datetime

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"


def configure_logging(service: str, level: str = "INFO", json_output: bool = True) -> None:
    renderer = structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors, processors=[_add_service(service), structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def _add_service(service: str) -> structlog.types.Processor:
    def add(_logger: object, _name: str, event: dict) -> dict:
        event.setdefault("service", service)
        return event

    return add


_access = logging.getLogger("csloop.access")


def log_access(method: str, route: str, status: int, duration_ms: float) -> None:
    """One access line: the event a structlog call would make (the context's request id and
    org, the level, a UTC timestamp), handed to the stdlib logger as one record. Without
    structlog's front half (a caller lookup walking the stack, a second record) it costs
    less than half of what it did, which was a tenth of a served GET. Rendered by the same formatter."""
    if not _access.isEnabledFor(logging.INFO):
        return
    event = {**structlog.contextvars.get_contextvars(), "method": method, "route": route, "status": status,
             "duration_ms": duration_ms, "event": "request", "level": "info",
             "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    _access.handle(_access.makeRecord(_access.name, logging.INFO, __file__, 0, event, (), None,
                                      extra={"_logger": _access, "_name": "info"}))


def bind_org(org_code: str) -> None:
    """Name the caller's organisation in this request's log lines (its access line included)."""
    structlog.contextvars.bind_contextvars(org=org_code)


class RequestIdMiddleware:
    """Echo the caller's X-Request-ID (or make one) on the response and in every log line, and
    write one access line per request (id, org, method, route, status, duration), so an id a
    client reports leads to its request in every process it crossed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = _request_id(scope)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500  # what the caller gets when the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER]
                message["headers"] = [*headers, (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log_access(scope["method"], _route(scope), status, round((time.perf_counter() - started) * 1000, 1))
            structlog.contextvars.unbind_contextvars("request_id", "org")


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
# A survey token is the credential that answers the survey: it never reaches a log.
_TOKEN_AFTER = ("public", "surveys")


def _route(scope: Scope) -> str:
    """The route's template (`/v1/customers/{customer_id}`), else the path with its ids and survey
    tokens replaced (the gateway proxies paths it has no template for)."""
    template = getattr(scope.get("route"), "path", None)
    if template and "*" not in template:  # the gateway's proxy mounts are prefixes (`/v1/customers*`)
        return template
    parts = scope["path"].split("/")
    for index, part in enumerate(parts):
        if index >= 2 and tuple(parts[index - 2:index]) == _TOKEN_AFTER:
            parts[index] = "{token}"
        elif _UUID.match(part):
            parts[index] = "{id}"
    return "/".join(parts)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and 0 < len(value) <= 128 and value.isascii():
            return value.decode()
    # 128 random bits as 32 hex digits, like a uuid4's: an id names a request and grants nothing,
    # so it need not come from the system's CSPRNG (a syscall per request, 2% of a proxied call).
    return f"{random.getrandbits(128):032x}"
