"""`/metrics` at the gateway, the one process the public reaches: only with the scrape token.

Request counts per route and status tell an outsider the traffic of the network and which
calls fail; Prometheus sends `Authorization: Bearer <CSLOOP_METRICS_TOKEN>`. Without a
configured token the gateway does not serve its metrics at all. The services' own /metrics
stay open: they are reached on the internal network only.
"""

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import NotFound, Unauthorized, problem_response

METRICS_PATH = "/metrics"


class MetricsTokenMiddleware:
    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != METRICS_PATH:
            return await self.app(scope, receive, send)
        if self.expected is None:
            problem = NotFound("The gateway serves /metrics only when CSLOOP_METRICS_TOKEN is set")
            return await problem_response(problem, METRICS_PATH)(scope, receive, send)
        sent = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        if not hmac.compare_digest(sent, self.expected):
            problem = Unauthorized("Send `Authorization: Bearer <the metrics token>`")
            return await problem_response(problem, METRICS_PATH)(scope, receive, send)
        await self.app(scope, receive, send)
