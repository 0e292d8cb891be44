"""Round trips to PostgreSQL per KPI read and per relay batch, counted on the wire (issue 12).

The service connects as the plain role, so row-level security is on. A summary reads each
table once, all in one statement: the survey KPIs of the org's whole subtree from the org's
own rollup rows, the fact tables, the targets. A relay's batch costs the same few statements
whatever its size: the event ids, the facts, the summed rollup deltas.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.kpi import repository
from tests.kpi.conftest import ORGS, SECRET, as_, deliver, deliver_vehicle, invite, respond, visit
from tests.kpi.in_process import running_kpi
from tests.kpi.events import every_kind, response
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url
from tests.support.roundtrips import RoundTripCounter, counting_proxy
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="round trips are counted on PostgreSQL's wire")

TRANSACTION = 3  # BEGIN, the org setting of row-level security, COMMIT
# One statement reads the rollups (every survey KPI), the targets, closed visits, visit VINs of two
# years, delivered VINs, complaints, follow-ups, alerts with their cases and appointments; FIR's look-up of repeat
# visits at any dealer adds its own setting, the read and the setting back. (Before issue 12: 24.)
SUMMARY_ROUND_TRIPS = TRANSACTION + 1 + 3
RANKING_ROUND_TRIPS = TRANSACTION + 1
TREND_ROUND_TRIPS = TRANSACTION + 1
# Responses: the processed-event ids, the response facts, the rollups, the factor rollups.
RESPONSES_BATCH_ROUND_TRIPS = TRANSACTION + 4  # (before issue 12: 45 for 10 responses, 805 for 200)


@pytest.fixture(scope="module")
def role_url() -> str:
    return app_role_url(postgres_base_url() or "")


@pytest.fixture(scope="module")
async def counted(role_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, RoundTripCounter]]:
    base = postgres_base_url() or ""
    await drop_postgres_databases(base, ["kpi_roundtrips"])
    async with counting_proxy(f"{role_url.rsplit('/', 1)[0]}/{base.rsplit('/', 1)[1]}_kpi_roundtrips") as (url, counter), \
            running_kpi(url, SECRET, ORGS) as (_app, client, _calls):
        yield client, counter


async def _seed(client: httpx.AsyncClient, year: int) -> None:
    """Something in every fact table the summary reads, FIR's repeat visit included."""
    at = datetime(year, 3, 10, 9, tzinfo=UTC)
    for index in (70.0, 90.0):
        await respond(client, "D1", at, index, nps="promoter", factors={"quality": index})
    await invite(client, "D1", at)
    await visit(client, "D1", "LFV3A23C7K3000091", at)
    await visit(client, "D1", "LFV3A23C7K3000091", at + timedelta(days=3))
    await deliver_vehicle(client, "D1", "LFV3A23C7K3000091", at - timedelta(days=400))
    await deliver(client, "followup.scheduled", {"followup_id": "5f0c1f3e-0000-4000-8000-000000000001", "dealer_code": "D1",
                                                 "kind": "service", "org_path": ORGS["D1"]["path"],
                                                 "due_at": at.isoformat()})


async def _count(client: httpx.AsyncClient, counter: RoundTripCounter, path: str, params: dict) -> float:
    for _ in range(5):  # warm: pool connections, prepared statements, the org names
        assert (await client.get(path, params=params, headers=as_("OEM"))).status_code == 200
    counter.reset()
    for _ in range(3):
        assert (await client.get(path, params=params, headers=as_("OEM"))).status_code == 200
    return counter.count / 3


async def test_a_summary_is_a_bounded_number_of_round_trips(counted) -> None:
    client, counter = counted
    await _seed(client, 2091)
    summary = (await client.get("/v1/kpi/summary", params={"period": "2091"}, headers=as_("OEM"))).json()["kpis"]
    assert summary["csi"]["n"] == 2 and summary["fir"]["n"] == 2 and summary["service_penetration"]["n"] == 1
    assert await _count(client, counter, "/v1/kpi/summary", {"period": "2091"}) <= SUMMARY_ROUND_TRIPS


async def test_a_summary_builds_no_statement_once_warm(counted) -> None:
    # Each read's statement is built once per process and the summary's combined statement is cached
    # by its reads' statements: one read built anew each time (a missing functools.cache) made a new
    # combined statement per summary, kept for ever (the cache is bounded now): 600 summaries held half a
    # million objects, and the full collections walking them set the p99 at 430 ms.
    client, _counter = counted
    await _seed(client, 2095)
    for _ in range(2):
        assert (await client.get("/v1/kpi/summary", params={"period": "2095"}, headers=as_("OEM"))).status_code == 200
    built = repository._together.cache_info().misses
    for _ in range(3):
        assert (await client.get("/v1/kpi/summary", params={"period": "2095"}, headers=as_("OEM"))).status_code == 200
    assert repository._together.cache_info().misses == built


async def test_a_ranking_and_a_trend_are_one_statement_each(counted) -> None:
    client, counter = counted
    await _seed(client, 2092)
    ranking = {"kpi": "csi", "period": "2092", "level": "dealer"}
    assert await _count(client, counter, "/v1/kpi/rankings", ranking) <= RANKING_ROUND_TRIPS
    trend = {"kpi": "csi", "from": "2091-01", "to": "2092-12"}
    assert await _count(client, counter, "/v1/kpi/trends", trend) <= TREND_ROUND_TRIPS


async def _batch_round_trips(client: httpx.AsyncClient, counter: RoundTripCounter, events: list) -> int:
    token = mint_internal_token(system_principal(), SECRET)
    counter.reset()
    answer = await client.post("/internal/events", json=events, headers={INTERNAL_HEADER: token})
    assert answer.status_code == 200 and set(answer.json()["outcomes"].values()) == {"applied"}, answer.text
    return counter.count


def _responses(year: int, count: int) -> list[dict]:
    at = datetime(year, 5, 1, tzinfo=UTC)
    return [response(("D1", "D2", "D3")[i % 3], at, 60.0 + i % 40, "promoter") for i in range(count)]


async def test_a_relay_batch_of_responses_costs_the_same_statements_whatever_its_size(counted) -> None:
    client, counter = counted
    await _batch_round_trips(client, counter, every_kind(2093))  # warm, with every kind of event
    assert await _batch_round_trips(client, counter, _responses(2094, 10)) <= RESPONSES_BATCH_ROUND_TRIPS
    assert await _batch_round_trips(client, counter, _responses(2094, 200)) <= RESPONSES_BATCH_ROUND_TRIPS
