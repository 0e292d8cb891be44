"""The gateway spreads a service's requests over its replicas (round robin) and leaves out one
that is dead (at once) or not ready (draining, hung: within a second), issue 19 item 1."""

import asyncio
import time

import httpx

from gateway.settings import GatewaySettings
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
