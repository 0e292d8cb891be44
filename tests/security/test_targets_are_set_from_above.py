"""Finding 5: the evaluated do not grade themselves. A dealer holding `kpi:write` lowered its own
KPI target so that it was "met". A target is set by an organisation strictly above the target's
organisation; the root manufacturer, with no one above it, sets its own."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.kpi.conftest import ORGS, SECRET, as_
from tests.kpi.in_process import running_kpi
from tests.support.databases import unit_database_url

WRITE = frozenset({"kpi:read", "kpi:write"})


@pytest.fixture(scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with running_kpi(await unit_database_url(tmp_path_factory, "kpi_targets"), SECRET, ORGS) as (_, client, _):
        yield client


async def put(client: httpx.AsyncClient, caller: str, org_code: str, target: float = 50.0) -> httpx.Response:
    body = {"org_code": org_code, "kpi": "csi", "period": "2031", "target": target}
    return await client.put("/v1/kpi/targets", json=body, headers=as_(caller, WRITE))


async def target_of(client: httpx.AsyncClient, org_code: str) -> float | None:
    answer = await client.get("/v1/kpi/summary", params={"org_code": org_code, "period": "2031"}, headers=as_("OEM"))
    return answer.json()["kpis"]["csi"]["target"]


async def test_a_dealer_cannot_set_its_own_target(client: httpx.AsyncClient) -> None:
    assert (await put(client, "OEM", "D1", 90.0)).status_code == 200
    answer = await put(client, "D1", "D1", 1.0)
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("application/problem+json")
    assert await target_of(client, "D1") == 90.0


async def test_a_distributor_sets_its_dealers_targets_but_not_its_own(client: httpx.AsyncClient) -> None:
    assert (await put(client, "DN", "D1", 80.0)).status_code == 200
    assert (await put(client, "DN", "DN", 1.0)).status_code == 403
    assert await target_of(client, "D1") == 80.0 and await target_of(client, "DN") is None


async def test_a_siblings_target_is_an_unknown_organisation(client: httpx.AsyncClient) -> None:
    for caller, target in (("D1", "D2"), ("DN", "DS"), ("DN", "D3")):
        answer = await put(client, caller, target)
        assert answer.status_code == 422, (caller, target)
        assert answer.json()["errors"] == [{"field": "org_code", "message": "unknown organisation"}]


async def test_the_root_manufacturer_sets_its_own_and_everyone_elses(client: httpx.AsyncClient) -> None:
    for code in ("OEM", "DS", "D3"):
        assert (await put(client, "OEM", code, 70.0)).status_code == 200, code
        assert await target_of(client, code) == 70.0
