"""`/livez`, `/readyz` and `/metrics` on every process, and the request metrics behind them."""

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ReadinessCheck = Callable[[], Awaitable[None]]


class RequestMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("csloop_http_requests_total", "HTTP requests", ["service", "method", "route", "status"], registry=self.registry)
        self.latency = Histogram("csloop_http_request_seconds", "HTTP request latency", ["service", "method", "route"], registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self.service = service
        # Each label set's two children, looked up once: `labels()` checks and joins its
        # arguments on every call, a few percent of a hot GET.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:
            children = self._children[(method, route, status)] = (
                self.requests.labels(self.service, method, route, str(status)),
                self.latency.labels(self.service, method, route))
        children[0].inc()
        children[1].observe(seconds)


class MetricsMiddleware:
    """Counts requests per route template (not per URL, so ids do not explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.record(scope["method"], _route_template(scope), status, time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return route.path
    app = scope.get("app")
    for candidate in getattr(getattr(app, "router", None), "routes", []):
        if candidate.matches(scope)[0] == Match.FULL:
            return getattr(candidate, "path", "other")
    return "unmatched"


# A passed readiness check is believed this long: every gateway replica asks every replica of a
# service twice a second (gateway/edge/upstreams.py), and a database ping per question was a
# twentieth of a core with two replicas of everything. A failed check is never reused.
READY_REUSE_SECONDS = 1.0
HEALTH_PATHS = ("/livez", "/readyz")


class HealthEndpoints:
    """`/livez` and `/readyz`, answered before every other middleware: the gateways ask each
    replica twice a second, and through the request id, metrics, idempotency and routing layers
    those probes were half of what a suite of two replicas spent idle. Probes are therefore not
    counted in the request metrics."""

    def __init__(self, app: ASGIApp, readiness: list[ReadinessCheck]) -> None:
        self.app = app
        self.readiness = readiness
        self._passed_at = -READY_REUSE_SECONDS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in HEALTH_PATHS or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        status, answer = (200, {"status": "ok"}) if scope["path"] == "/livez" else await self._readiness(scope)
        body = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _readiness(self, scope: Scope) -> tuple[int, dict[str, Any]]:
        # Set by shared.serve's DrainingServer on SIGTERM: still serving, but take no new traffic.
        # In-process test apps are never served by it, hence the default.
        if getattr(scope["app"].state, "draining", False):
            return 503, {"status": "draining"}
        if time.monotonic() - self._passed_at < READY_REUSE_SECONDS:
            return 200, {"status": "ok"}
        failures = []
        for check in self.readiness:
            try:
                await check()
            except Exception as exc:  # readiness reports, it does not raise
                failures.append(f"{check.__name__}: {exc.__class__.__name__}")
        if failures:
            return 503, {"status": "unavailable", "failures": failures}
        self._passed_at = time.monotonic()
        return 200, {"status": "ok"}


def metrics_router(metrics: RequestMetrics) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
