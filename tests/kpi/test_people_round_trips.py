"""Round trips to PostgreSQL of the people and department figures, counted on the wire (as
tests/kpi/test_round_trips.py does for the org figures): the staff records and every role's
grouped scores in one statement; FIR adds the look-up of repeat visits at any dealer."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.kpi.conftest import ORGS, SECRET, as_
from tests.kpi.in_process import running_kpi
from tests.kpi.test_people import call, respond, staff, visit
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url
from tests.support.roundtrips import RoundTripCounter, counting_proxy

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="round trips are counted on PostgreSQL's wire")

TRANSACTION = 3  # BEGIN, the org setting of row-level security, COMMIT
ONE_STATEMENT = TRANSACTION + 1
# The repeat look-up at any dealer: its own org setting, the read, the setting back.
WITH_REPEATS = ONE_STATEMENT + 3


@pytest.fixture(scope="module")
def role_url() -> str:
    return app_role_url(postgres_base_url() or "")


@pytest.fixture(scope="module")
async def counted(role_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, RoundTripCounter]]:
    base = postgres_base_url() or ""
    await drop_postgres_databases(base, ["kpi_people_roundtrips"])
    database = f"{role_url.rsplit('/', 1)[0]}/{base.rsplit('/', 1)[1]}_kpi_people_roundtrips"
    async with counting_proxy(database) as (url, counter), running_kpi(url, SECRET, ORGS) as (_app, client, _calls):
        yield client, counter


async def _count(client: httpx.AsyncClient, counter: RoundTripCounter, path: str, params: dict) -> float:
    for _ in range(3):  # warm: pool connections, prepared statements, the org names
        assert (await client.get(path, params=params, headers=as_("OEM"))).status_code == 200
    counter.reset()
    for _ in range(3):
        assert (await client.get(path, params=params, headers=as_("OEM"))).status_code == 200
    return counter.count / 3


async def test_people_and_departments_are_a_bounded_number_of_round_trips(counted) -> None:
    client, counter = counted
    at = datetime(2093, 4, 2, 9, tzinfo=UTC)
    await staff(client, "D1", "P93-SA1", "Sun Li", "service_advisor")
    for dealer in ("D1", "D2", "D3"):
        await respond(client, dealer, at, 80.0, nps="promoter", advisor="P93-SA1", technician="P93-T1")
        await respond(client, dealer, at, 90.0, kind="ssi", nps="passive", sales_consultant="P93-SC1")
        await visit(client, dealer, "LP930000000000001", at, "S1", advisor="P93-SA1", technician="P93-T1")
        await call(client, dealer, at, "P93-CR1", "satisfied")
    for kpi in ("csi", "nps", "followup_on_time"):
        assert await _count(client, counter, "/v1/kpi/people", {"kpi": kpi, "period": "2093"}) <= ONE_STATEMENT, kpi
        assert await _count(client, counter, "/v1/kpi/departments", {"kpi": kpi, "period": "2093"}) <= ONE_STATEMENT, kpi
    nps = (await client.get("/v1/kpi/people", params={"kpi": "nps", "period": "2093"}, headers=as_("OEM"))).json()
    assert len(nps["items"]) == 9  # advisor, technician and sales consultant at each of the three dealers
    fir = (await client.get("/v1/kpi/people", params={"kpi": "fir", "period": "2093"}, headers=as_("OEM"))).json()
    assert [(item["dealer_code"], item["n"]) for item in fir["items"] if item["role"] == "technician"] == [
        ("D1", 1), ("D2", 1), ("D3", 1)]
    assert await _count(client, counter, "/v1/kpi/people", {"kpi": "fir", "period": "2093"}) <= WITH_REPEATS
    assert await _count(client, counter, "/v1/kpi/departments", {"kpi": "fir", "period": "2093"}) <= WITH_REPEATS
