"""A new case's references are checked with the services that hold them (stand-ins here; the
real ones in tests/security/test_complaint_references_are_scoped.py), before anything is stored."""

import uuid

import httpx
import pytest

from tests.complaint.conftest import REFUSED, VIN, as_, deliver, open_case, opened
from tests.complaint.test_sla_events_scope import _alert


@pytest.fixture
def refused() -> set:
    yield REFUSED["values"]
    REFUSED["values"].clear()
    REFUSED["down"] = False


async def _cases_of(client: httpx.AsyncClient, customer_id: str) -> list[dict]:
    answer = await client.get("/v1/complaints", params={"customer_id": customer_id}, headers=as_("OEM"))
    return answer.json()["items"]


async def test_every_refused_reference_is_listed_in_one_422_and_nothing_is_stored(
        client: httpx.AsyncClient, refused: set) -> None:
    customer_id, response_id = str(uuid.uuid4()), str(uuid.uuid4())
    refused.update({customer_id, VIN, "RO-X", response_id})
    answer = await open_case(client, customer_id=customer_id, ro_number="RO-X", survey_response_id=response_id)
    assert answer.status_code == 422, answer.text
    assert sorted(answer.json()["errors"], key=lambda e: e["field"]) == [
        {"field": "customer_id", "message": "unknown customer"}, {"field": "ro_number", "message": "unknown visit"},
        {"field": "survey_response_id", "message": "unknown response"}, {"field": "vin", "message": "unknown vehicle"}]
    assert await _cases_of(client, customer_id) == []


async def test_a_source_service_that_is_down_is_503_and_nothing_is_stored(
        client: httpx.AsyncClient, refused: set) -> None:
    REFUSED["down"] = True
    customer_id = str(uuid.uuid4())
    answer = await open_case(client, customer_id=customer_id)
    assert answer.status_code == 503 and answer.headers["content-type"] == "application/problem+json"
    assert await _cases_of(client, customer_id) == []


async def test_a_case_naming_no_record_asks_no_source(client: httpx.AsyncClient, refused: set) -> None:
    REFUSED["down"] = True
    answer = await client.post("/v1/complaints", headers=as_("D1"), json={
        "dealer_code": "D1", "channel": "walk_in", "category": "other", "priority": "P3", "description": "No records"})
    assert answer.status_code == 201, answer.text


async def test_a_second_alert_case_for_a_response_out_of_sight_is_409_not_500(client: httpx.AsyncClient) -> None:
    """The alert index is global, the pre-check scoped: a response whose case the caller cannot
    see (and that the source would call its own, as a race might) ends in a conflict."""
    response_id = uuid.uuid4()
    assert await deliver(client, "survey.alert.raised", _alert(response_id)) == "applied"
    answer = await open_case(client, "D3", channel="survey_alert", survey_response_id=str(response_id))
    assert answer.status_code == 409, answer.text
    assert answer.json()["errors"] == [{"field": "survey_response_id", "message": "already has a case"}]
    assert (await opened(client, "D3"))["dealer_code"] == "D3"  # the service goes on


async def test_a_value_a_source_refuses_outright_is_an_unknown_record(client: httpx.AsyncClient) -> None:
    answer = await open_case(client, ro_number="RO-\x00")
    assert answer.status_code == 422, answer.text
    assert {"field": "ro_number", "message": "unknown visit"} in answer.json()["errors"]
