"""Finding 16: after an escalation only the handling organisation and those above it move,
resolve or escalate a case; the dealer below still sees it and may comment. A case opened
from above is handled by its dealer."""

import httpx
import pytest

from tests.complaint.conftest import app, as_, client, move, opened  # noqa: F401 - fixtures
from tests.support.databases import unit_database_url


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of its own: tests/complaint's may be in use in the same session."""
    return await unit_database_url(tmp_path_factory, "complaint_escalation")


def _etag(case: dict) -> str:
    return f'"v{case["version"]}"'


async def test_the_dealer_below_an_escalated_p1_cannot_acknowledge_resolve_or_escalate_it(
        client: httpx.AsyncClient) -> None:
    case = await opened(client, "D1", priority="P1")
    assert case["handling_org_code"] == "DN"

    refused = await move(client, case, "acknowledged", caller="D1")
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["handling_org_code"] == "DN"
    resolution = await client.put(f"/v1/complaints/{case['id']}/resolution", json={"summary": "fixed it myself"},
                                  headers=as_("D1", if_match=_etag(case)))
    assert resolution.status_code == 403
    escalated = await client.post(f"/v1/complaints/{case['id']}/escalate", json={"reason": "up again"},
                                  headers=as_("D1", if_match=_etag(case)))
    assert escalated.status_code == 403
    unchanged = (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D1"))).json()
    assert (unchanged["status"], unchanged["resolution"], unchanged["version"]) == ("new", None, case["version"])

    comment = await client.post(f"/v1/complaints/{case['id']}/comments", json={"text": "Customer called again"},
                                headers=as_("D1", if_match=_etag(case)))
    assert comment.status_code == 201, comment.text
    case.update(comment.json())

    assert (await move(client, case, "acknowledged", caller="DN")).status_code == 200
    assert (await move(client, case, "in_progress", caller="OEM")).status_code == 200


async def test_a_manual_escalation_hands_the_case_up_for_good(client: httpx.AsyncClient) -> None:
    case = await opened(client, "D2", priority="P3")
    assert (await move(client, case, "acknowledged", caller="D2")).status_code == 200
    escalated = await client.post(f"/v1/complaints/{case['id']}/escalate", json={"reason": "needs the region"},
                                  headers=as_("D2", if_match=_etag(case)))
    assert escalated.status_code == 200
    case.update(escalated.json())
    assert (await move(client, case, "in_progress", caller="D2")).status_code == 403
    assert (await move(client, case, "in_progress", caller="DN")).status_code == 200


async def test_a_case_opened_from_above_is_handled_by_its_dealer(client: httpx.AsyncClient) -> None:
    answer = await client.post("/v1/complaints", headers=as_("DN"), json={
        "dealer_code": "D1", "channel": "hotline", "category": "other", "priority": "P3", "description": "From above"})
    assert answer.status_code == 201, answer.text
    case = answer.json()
    assert case["handling_org_code"] == "D1"
    assert (await move(client, case, "acknowledged", caller="D1")).status_code == 200
