"""`/livez` and `/readyz` are answered before every other layer (shared/observability.py
HealthEndpoints): the gateways' probes cost no request id, metrics, idempotency or routing work; a
passed check is believed for a second, a failed one never."""

import httpx
import pytest
from fastapi import FastAPI

from shared.observability import READY_REUSE_SECONDS, HealthEndpoints, MetricsMiddleware, RequestMetrics, metrics_router


class Checks:
    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    async def database(self) -> None:
        self.calls += 1
        if self.failing:
            raise ConnectionError("down")


def probed_app(checks: Checks) -> FastAPI:
    app = FastAPI()
    metrics = RequestMetrics("probed")
    app.include_router(metrics_router(metrics))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(HealthEndpoints, readiness=[checks.database])
    return app


@pytest.fixture
def checks() -> Checks:
    return Checks()


async def test_probes_are_answered_without_the_layers_behind_them(checks: Checks) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(probed_app(checks)), base_url="http://probed") as client:
        for path in ("/livez", "/readyz", "/readyz"):
            answer = await client.get(path)
            assert answer.status_code == 200 and answer.json() == {"status": "ok"}
            assert answer.headers["content-type"] == "application/json"
        head = await client.head("/readyz")
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        exposition = (await client.get("/metrics")).text
    assert "/readyz" not in exposition and "/livez" not in exposition  # probes are not requests
    assert checks.calls == 1  # the second and third asked within the second: the pass is believed


async def test_a_failed_check_is_never_believed_and_a_draining_process_is_not_ready(checks: Checks) -> None:
    app = probed_app(checks)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://probed") as client:
        checks.failing = True
        for _ in range(2):
            answer = await client.get("/readyz")
            assert answer.status_code == 503 and answer.json() == {"status": "unavailable", "failures": ["database: ConnectionError"]}
        assert checks.calls == 2
        checks.failing = False
        assert (await client.get("/readyz")).status_code == 200
        app.state.draining = True
        assert (await client.get("/readyz")).json() == {"status": "draining"}
        assert (await client.get("/livez")).status_code == 200  # alive: not to be restarted while it drains
    assert READY_REUSE_SECONDS <= 1.0  # a gateway leaves a replica that stops being ready out within a second
