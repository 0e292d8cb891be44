"""The gateway spreads a service's requests over its replicas (round robin) and leaves out one
that is dead (at once) or not ready (draining, hung: within a second), issue 19 item 1."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import aiohttp
import httpx
import pytest

from gateway import view360
from gateway.edge import integrity, openapi
from gateway.edge.upstreams import Upstream
from gateway.settings import GatewaySettings
from gateway.web.survey_page import upstream as survey_upstream
from shared.replicas import ReplicaSet
from tests.gateway.conftest import OrgTree, bearer, running_gateway
from tests.support.replica_servers import Replica, replicas

CUSTOMER = "/v1/customers/00000000-0000-4000-8000-000000000042"


def with_customer_replicas(settings: GatewaySettings, started: list[Replica]) -> GatewaySettings:
    return settings.model_copy(update={"customer_url": ",".join(r.url for r in started)})


async def served_by(client: httpx.AsyncClient, key: str, count: int, method: str = "GET") -> list[int]:
    answers = [await client.request(method, CUSTOMER, headers=bearer(key), json={} if method != "GET" else None)
               for _ in range(count)]
    assert [a.status_code for a in answers] == [200] * count, [a.text for a in answers if a.status_code != 200]
    return [a.json()["replica"] for a in answers]


def customer_replicas(client: httpx.AsyncClient) -> ReplicaSet:
    """The running gateway's replica set of the customer service (the client talks to the app in process)."""
    return client._transport.app.state.upstreams["customer"].replicas  # type: ignore[attr-defined]


async def until(condition, seconds: float = 3.0) -> float:  # noqa: ANN001
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_requests_go_round_robin(settings: GatewaySettings, tree: OrgTree) -> None:
    async with replicas(2) as started, running_gateway(with_customer_replicas(settings, started)) as client:
        answered = await served_by(client, tree.admin_keys["dlr11"], 10)
    assert answered.count(0) == answered.count(1) == 5


async def test_a_killed_replica_costs_no_request_even_a_post(settings: GatewaySettings, tree: OrgTree) -> None:
    async with replicas(2) as started, running_gateway(with_customer_replicas(settings, started)) as client:
        key = tree.admin_keys["dlr11"]
        await served_by(client, key, 2)  # pooled connections to both
        await started[1].stop()
        assert set(await served_by(client, key, 10, method="POST")) == {0}
        assert [s for s in started[0].served if s.startswith("POST")] == [f"POST {CUSTOMER}"] * 10
        await started[0].stop()
        answer = await client.get(CUSTOMER, headers=bearer(key))
        assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"


async def test_a_replica_not_ready_is_left_out_within_a_second_and_back_when_ready(
        settings: GatewaySettings, tree: OrgTree) -> None:
    async with replicas(2) as started, running_gateway(with_customer_replicas(settings, started)) as client:
        key, draining = tree.admin_keys["dlr11"], started[1]
        draining.ready = False
        left_out_after = await until(lambda: customer_replicas(client).is_down(draining.url))
        assert left_out_after < 1.0
        before = len(draining.served)
        assert set(await served_by(client, key, 10)) == {0}
        assert len(draining.served) == before
        draining.ready = True
        await until(lambda: not customer_replicas(client).is_down(draining.url))
        assert set(await served_by(client, key, 4)) == {0, 1}


@asynccontextmanager
async def first_replica_dead() -> AsyncIterator[tuple[Upstream, Replica]]:
    """A survey upstream of two replicas whose first in turn refuses connections."""
    async with replicas(2) as started:
        await started[0].stop()
        upstream = Upstream("survey", ReplicaSet([r.url for r in started]), aiohttp.ClientSession())
        try:
            yield upstream, started[1]
        finally:
            await upstream.client.close()  # type: ignore[union-attr]


async def test_every_gateway_caller_of_a_service_goes_on_to_the_next_replica() -> None:
    # The 360 view's parts, the merged OpenAPI document, the survey token's dealer look-up and
    # the survey page all reach a service through `Upstream.request`, so none fails while a
    # replica is dead and another answers.
    async with first_replica_dead() as (upstream, live):
        dead_one_first(upstream)
        part = await view360._get(upstream, "/v1/customers/c 1", {"limit": "5"}, {}, aiohttp.ClientTimeout(total=5))
        assert part == {"replica": 1, "body_length": 0}
        dead_one_first(upstream)
        assert await openapi._fetch(upstream) == {"replica": 1, "body_length": 0}
        dead_one_first(upstream)
        state = SimpleNamespace(upstreams={"survey": upstream},
                                authenticator=SimpleNamespace(internal_token=lambda principal: "internal"))
        assert await integrity._ask_dealer(state, "tok en") is None  # answered, with no dealer_code
        dead_one_first(upstream)
        state.integrity = SimpleNamespace(headers=_no_integrity_headers)
        reply = await survey_upstream.submit(state, "tok", {"answers": []}, survey_upstream.Client("203.0.113.9", "ua"))
        assert reply.status == 200 and reply.body["replica"] == 1 and reply.body["body_length"] > 0
    assert live.served == ["GET /v1/customers/c 1", "GET /openapi.json",
                           "GET /internal/invitations/by-token/tok en/dealer", "POST /v1/public/surveys/tok/responses"]


def dead_one_first(upstream: Upstream) -> None:
    """The dead replica's turn next, its down mark forgotten: each call meets it first."""
    assert upstream.replicas is not None
    upstream.replicas.mark_up(upstream.replicas.urls[0])
    upstream.replicas._turn = 0


async def _no_integrity_headers(state, token, address, user_agent) -> dict[str, str]:  # noqa: ANN001
    return {}


async def test_a_streamed_body_is_not_sent_again_to_another_replica() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"{}"

    async with first_replica_dead() as (upstream, live):
        with pytest.raises(aiohttp.ClientConnectorError):
            async with upstream.request("POST", "/v1/customers/import", data=chunks()):
                pass
    assert live.served == []
