"""Finding 15: a KPI `org_code` of an existing org of another network answered faster than an unknown
one (the foreign org was cached by the org directory, the unknown code asked the gateway every
time). Both now take the same path: the same 404 body and the same number of directory calls
(counted, never timed)."""

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.kpi.conftest import ORGS, SECRET, as_
from tests.kpi.in_process import CountingTransport, running_kpi
from tests.support.databases import unit_database_url

ENDPOINTS = [("/v1/kpi/summary", {"period": "2031"}), ("/v1/kpi/complaints", {"period": "2031"}),
             ("/v1/kpi/rankings", {"kpi": "csi", "period": "2031"}),
             ("/v1/kpi/trends", {"kpi": "csi", "from": "2031-01", "to": "2031-02"}),
             ("/v1/kpi/drivers", {"kind": "csi", "period": "2031"}),
             ("/v1/kpi/people", {"kpi": "csi", "period": "2031"}), ("/v1/kpi/departments", {"kpi": "csi", "period": "2031"})]


@pytest.fixture(scope="module")
async def kpi(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[httpx.AsyncClient, CountingTransport]]:
    async with running_kpi(await unit_database_url(tmp_path_factory, "kpi_org_oracle"), SECRET, ORGS) as (_, client, calls):
        yield client, calls


async def ask(kpi: tuple[httpx.AsyncClient, CountingTransport], caller: str, path: str, params: dict,
              code: str) -> tuple[int, dict, int]:
    client, calls = kpi
    before = calls.calls
    answer = await client.get(path, params={**params, "org_code": code}, headers=as_(caller))
    return answer.status_code, answer.json(), calls.calls - before


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
async def test_a_foreign_org_and_an_unknown_code_take_the_same_path(kpi, path: str, params: dict) -> None:
    for caller, foreign in (("D1", "D3"), ("D1", "DN"), ("DN", "DS"), ("DN", "D3")):
        # Warm first: whatever either lookup caches, the answers compared below see the same state.
        await ask(kpi, caller, path, params, foreign)
        await ask(kpi, caller, path, params, "NOPE42")
        for _ in range(3):
            foreign_answer = await ask(kpi, caller, path, params, foreign)
            unknown_answer = await ask(kpi, caller, path, params, "NOPE42")
            assert foreign_answer == unknown_answer, (caller, foreign)
            assert foreign_answer[0] == 404


async def test_the_target_writer_answers_both_alike(kpi) -> None:
    client, calls = kpi
    answers = []
    for code in ("D3", "NOPE42", "D3", "NOPE42"):
        before = calls.calls
        answer = await client.put("/v1/kpi/targets", json={"org_code": code, "kpi": "csi", "period": "2031", "target": 1},
                                  headers=as_("DN", frozenset({"kpi:write"})))
        answers.append((answer.status_code, answer.json(), calls.calls - before))
    assert answers[2] == answers[3] and answers[2][0] == 422  # a body field: API.md's "unknown organisation"


async def test_an_org_in_the_callers_subtree_is_found(kpi) -> None:
    status, body, _ = await ask(kpi, "DN", "/v1/kpi/summary", {"period": "2031"}, "D1")
    assert status == 200 and body["org_code"] == "D1"
    status, body, calls = await ask(kpi, "DN", "/v1/kpi/summary", {"period": "2031"}, "d1")
    assert status == 200 and body["org_code"] == "D1" and calls == 0  # cached, and codes are case-blind as at the gateway
