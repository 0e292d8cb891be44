"""Finding 6: a dealer of another network recorded a repair visit on a competitor's VIN for a
made-up customer, and the competitor's first-time-fix rate fell from 100 to 0.

A repeat visit at another dealer still fails a fix when its customer is the VIN's owner on
record (the owner on the selling dealer's file) or shares the owner's phone; otherwise it is
held out of the other dealer's FIR and listed at /v1/kpi/fir-held-out for the manufacturer and
the distributors. Hand-made, in process: the customer service decides when the visit is
recorded, its outbox events feed the KPI service, and a rebuild from its records agrees.
"""

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.customer.app import create_app as create_customer_app
from services.customer.models import TABLES as CUSTOMER_TABLES
from services.customer.settings import CustomerSettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.types import vin_check_digit
from tests.e2e.test_survey_flow import vin
from tests.e2e.test_survey_page import phone
from tests.kpi.conftest import ORGS, SECRET, as_
from tests.kpi.in_process import running_kpi
from tests.support.databases import unit_database_url
from tests.support.org_directory import stand_in_directory
from tests.support.suite import Network, Org

A, B = "D1", "D3"  # dealers of two networks: /OEM/DN/D1/ and /OEM/DS/D3/
VINS = [vin.replace("?", vin_check_digit(vin.replace("?", "0"))) for vin in (
    "LSVFR0AB?RS000001", "LSVFR0AB?RS000002", "LSVFR0AB?RS000003", "LSVFR0AB?RS000004")]
WRITE = frozenset({"customers:read", "customers:write"})


class Sources(httpx.AsyncBaseTransport):
    """The source services a rebuild reads: the real customer service, and no survey or complaint records."""

    def __init__(self, customer: FastAPI) -> None:
        empty = FastAPI()

        @empty.get("/internal/facts/{kind}")
        async def nothing(kind: str) -> dict[str, Any]:
            return {"items": [], "next_cursor": None}

        self.customer, self.empty = httpx.ASGITransport(customer), httpx.ASGITransport(empty)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await (self.customer if request.url.host == "customer.test" else self.empty).handle_async_request(request)


@dataclass
class World:
    customer_app: FastAPI
    customer: httpx.AsyncClient
    kpi: httpx.AsyncClient
    pumped: int = 0

    def as_dealer(self, code: str) -> dict[str, str]:
        org = ORGS[code]
        return {INTERNAL_HEADER: mint_internal_token(Principal(f"key-{code}", code, org["path"], org["kind"], (), WRITE),
                                                     SECRET, ttl_seconds=3600)}

    async def new_customer(self, dealer: str, phone: str) -> str:
        answer = await self.customer.post("/v1/customers", headers=self.as_dealer(dealer), json={
            "external_id": uuid.uuid4().hex, "dealer_code": dealer, "name": "王伟", "phone": phone})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    async def deliver(self, dealer: str, vin: str, customer_id: str, at: str) -> None:
        answer = await self.customer.post("/v1/deliveries", headers=self.as_dealer(dealer), json={
            "vin": vin, "customer_id": customer_id, "dealer_code": dealer, "delivered_at": at})
        assert answer.status_code == 201, answer.text

    async def repair(self, dealer: str, vin: str, customer_id: str, opened: str, closed: str) -> str:
        answer = await self.customer.post("/v1/service-visits", headers=self.as_dealer(dealer), json={
            "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": vin, "customer_id": customer_id, "dealer_code": dealer,
            "visit_type": "repair", "opened_at": opened, "closed_at": closed, "symptom_codes": ["BRK-01"]})
        assert answer.status_code == 201, answer.text
        assert "owner_verified" not in answer.json()  # it would tell a dealer whose phone owns the VIN elsewhere
        return answer.json()["id"]

    async def pump(self) -> None:
        """Relay the customer service's new outbox events to the KPI service, as the relay would."""
        outbox = CUSTOMER_TABLES.outbox
        async with self.customer_app.state.sessions() as session:
            rows = (await session.execute(select(outbox.c.seq, outbox.c.payload).where(outbox.c.seq > self.pumped)
                                          .order_by(outbox.c.seq))).all()
        token = mint_internal_token(system_principal(), SECRET)
        for seq, event in rows:
            answer = await self.kpi.post("/internal/events", json=event, headers={INTERNAL_HEADER: token})
            assert answer.status_code == 200, answer.text
            self.pumped = seq

    async def fir(self, org: str, period: str) -> tuple[float | None, int]:
        answer = await self.kpi.get("/v1/kpi/summary", params={"org_code": org, "period": period}, headers=as_("OEM"))
        fir = answer.json()["kpis"]["fir"]
        return fir["value"], fir["n"]

    async def held_out(self, caller: str, period: str, org: str | None = None) -> httpx.Response:
        return await self.kpi.get("/v1/kpi/fir-held-out", params={"period": period, **({"org_code": org} if org else {})},
                                  headers=as_(caller))


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    settings = CustomerSettings(database_url=await unit_database_url(tmp_path_factory, "customer_fir"),
                                internal_secret=SECRET, relay_enabled=False, birthday_job_enabled=False,
                                log_json=False, log_level="WARNING")
    customer_app = create_customer_app(settings, migrate=True, org_directory=stand_in_directory(ORGS, SECRET))
    async with customer_app.router.lifespan_context(customer_app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(customer_app), base_url="http://customer.test") as customer, \
            running_kpi(await unit_database_url(tmp_path_factory, "kpi_fir"), SECRET, ORGS,
                        source_transport=Sources(customer_app), customer_url="http://customer.test",
                        survey_url="http://survey.test", complaint_url="http://complaint.test") as (_, kpi, _):
        world = World(customer_app, customer, kpi)
        await seed(world)
        yield world


async def seed(w: World) -> None:
    # 2024-03: A repairs the car it sold; another network's dealer records a repeat for a made-up customer.
    owner = await w.new_customer(A, "13900000001")
    await w.deliver(A, VINS[0], owner, "2024-01-10T09:00:00Z")
    await w.repair(A, VINS[0], owner, "2024-03-01T08:00:00Z", "2024-03-01T10:00:00Z")
    made_up = await w.new_customer(B, "13900000009")
    await w.repair(B, VINS[0], made_up, "2024-03-05T08:00:00Z", "2024-03-05T10:00:00Z")
    # 2024-05: the same, but B's customer has the owner's phone: the owner really came back.
    owner = await w.new_customer(A, "13900000002")
    await w.deliver(A, VINS[1], owner, "2024-01-10T09:00:00Z")
    await w.repair(A, VINS[1], owner, "2024-05-01T08:00:00Z", "2024-05-01T10:00:00Z")
    await w.repair(B, VINS[1], await w.new_customer(B, "13900000002"),
                   "2024-05-06T08:00:00Z", "2024-05-06T10:00:00Z")
    # 2024-07: a VIN nobody delivered: no owner on record to check B's customer against.
    walk_in = await w.new_customer(A, "13900000003")
    await w.repair(A, VINS[2], walk_in, "2024-07-01T08:00:00Z", "2024-07-01T10:00:00Z")
    await w.repair(B, VINS[2], await w.new_customer(B, "13900000004"),
                   "2024-07-02T08:00:00Z", "2024-07-02T10:00:00Z")
    # 2024-09: the selling dealer itself is the owner's record: its repeat counts whoever came.
    owner = await w.new_customer(B, "13900000005")
    await w.deliver(B, VINS[3], owner, "2024-01-10T09:00:00Z")
    await w.repair(A, VINS[3], await w.new_customer(A, "13900000005"),
                   "2024-09-01T08:00:00Z", "2024-09-01T10:00:00Z")
    await w.repair(B, VINS[3], await w.new_customer(B, "13900000006"),
                   "2024-09-10T08:00:00Z", "2024-09-10T10:00:00Z")
    await w.pump()


async def test_an_unverified_repeat_at_another_dealer_does_not_fail_the_fix(world: World) -> None:
    assert await world.fir(A, "2024-03") == (100.0, 1)
    assert await world.fir(A, "2024-07") == (100.0, 1)


async def test_a_repeat_by_the_owners_phone_or_at_the_selling_dealer_fails_the_fix(world: World) -> None:
    assert await world.fir(A, "2024-05") == (0.0, 1)
    assert await world.fir(A, "2024-09") == (0.0, 1)


async def test_the_held_out_visit_is_listed_for_the_manufacturer(world: World) -> None:
    answer = await world.held_out("OEM", "2024-03", "OEM")
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["items"]
    assert (item["org_code"], item["vin"], item["symptom_codes"]) == (B, VINS[0], ["BRK-01"])
    assert [(fix["org_code"], fix["closed_at"][:16]) for fix in item["held_out_of"]] == [(A, "2024-03-01T10:00")]
    assert [i["vin"] for i in (await world.held_out("OEM", "2024")).json()["items"]] == [
        VINS[0], VINS[2]]
    assert (await world.held_out("OEM", "2024-05")).json()["items"] == []


async def test_distributors_see_their_own_dealers_held_out_visits_and_dealers_none(world: World) -> None:
    [item] = (await world.held_out("DS", "2024-03")).json()["items"]
    assert item["org_code"] == B and item["held_out_of"] == []  # A's fix is of another network
    assert (await world.held_out("DN", "2024-03")).json()["items"] == []
    assert (await world.held_out("DN", "2024-03", "DS")).status_code == 404
    for dealer in (A, B):
        for org in (None, A, B, "NOPE42"):
            answer = await world.held_out(dealer, "2024-03", org)
            assert answer.status_code == 403 and answer.headers["content-type"].startswith("application/problem+json")


async def test_a_rebuild_from_the_customer_services_records_keeps_it(world: World) -> None:
    periods = ("2024-03", "2024-05", "2024-07", "2024-09")
    before = [await world.fir(A, p) for p in periods], (await world.held_out("OEM", "2024")).json()
    token = mint_internal_token(system_principal(), SECRET)
    answer = await world.kpi.post("/internal/kpi/rebuild", headers={INTERNAL_HEADER: token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rebuilt"]["visits"] == 8
    assert ([await world.fir(A, p) for p in periods], (await world.held_out("OEM", "2024")).json()) == before


# --- the running suite (on PostgreSQL as the plain role: both cross-dealer reads cross row-level security) ---


def _post(org: Org, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = org.client.post(path, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _person(org: Org, phone: str) -> str:
    return _post(org, "/v1/customers", {"external_id": uuid.uuid4().hex[:12], "dealer_code": org.code, "name": "李娜",
                                        "phone": phone})["id"]


def _repair(org: Org, car: str, customer_id: str, closed: datetime) -> None:
    _post(org, "/v1/service-visits", {
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": car, "customer_id": customer_id, "dealer_code": org.code,
        "visit_type": "repair", "opened_at": (closed - timedelta(minutes=30)).isoformat(),
        "closed_at": closed.isoformat(), "symptom_codes": ["ENG-07"]})


def _sold_and_repaired(org: Org, closed: datetime) -> tuple[str, str]:
    """A car `org` delivered to its customer and repaired; the VIN and the owner's phone."""
    owner_phone, car = phone(), vin()
    owner = _person(org, owner_phone)
    _post(org, "/v1/deliveries", {"vin": car, "customer_id": owner, "dealer_code": org.code,
                                  "delivered_at": (closed - timedelta(days=100)).isoformat()})
    _repair(org, car, owner, closed)
    return car, owner_phone


@pytest.mark.e2e
def test_through_the_suite_only_the_owners_repeat_fails_another_networks_fix(network: Network) -> None:
    north, south = network.org("distributor"), network.org("distributor")
    a1, a2, b = network.org("dealer", north), network.org("dealer", north), network.org("dealer", south)
    now = datetime.now(UTC).replace(microsecond=0)
    first, again = now - timedelta(hours=3), now - timedelta(hours=1)
    period = f"{first:%Y-%m}"
    sabotaged, _ = _sold_and_repaired(a1, first)
    returned, owner_phone = _sold_and_repaired(a2, first)
    _repair(b, sabotaged, _person(b, phone()), again)  # a made-up customer
    _repair(b, returned, _person(b, owner_phone), again)  # the owner, known to b by the same phone

    def fir(caller: Org, org: Org) -> tuple[float | None, int]:
        kpi = caller.client.get("/v1/kpi/summary", params={"org_code": org.code, "period": period}).json()["kpis"]["fir"]
        return kpi["value"], kpi["n"]

    def settled() -> bool:
        return fir(network.manufacturer, b) == (100.0, 2) and fir(network.manufacturer, a2)[1] == 1
    deadline = time.monotonic() + 60
    while not settled():
        assert time.monotonic() < deadline, "the visits did not reach the KPI service"
        time.sleep(0.5)
    for caller in (network.manufacturer, north):
        assert fir(caller, a1) == (100.0, 1) and fir(caller, a2) == (0.0, 1)
    assert fir(a1, a1) == (100.0, 1) and fir(a2, a2) == (0.0, 1)  # a dealer's own view agrees
    held = network.manufacturer.client.get("/v1/kpi/fir-held-out", params={"org_code": south.code, "period": period})
    assert held.status_code == 200, held.text
    assert [(i["org_code"], i["vin"], [f["org_code"] for f in i["held_out_of"]]) for i in held.json()["items"]] == [
        (b.code, sabotaged, [a1.code])]
    assert b.client.get("/v1/kpi/fir-held-out", params={"period": period}).status_code == 403
