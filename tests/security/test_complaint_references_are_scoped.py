"""Finding 3 (complaints) and 4: every record a new case names is resolved in the caller's reach
and must be the named dealer's; unknown, invisible or another dealer's are the same 422
`unknown <kind>`, nothing is stored, and a foreign response that already has a case is no 500."""

import uuid
from typing import Any

import pytest

from tests.e2e.test_survey_flow import vin
from tests.e2e.test_survey_page import customer
from tests.support.foreign_world import World, build_world
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

KIND = {"customer_id": "customer", "vin": "vehicle", "ro_number": "visit", "survey_response_id": "response"}


@pytest.fixture(scope="module")
def world(network: Network) -> World:
    return build_world(network)


def _open(caller: Org, dealer_code: str, **refs: Any) -> Any:
    channel = "survey_alert" if "survey_response_id" in refs else "hotline"
    return caller.client.post("/v1/complaints", json={
        "dealer_code": dealer_code, "channel": channel, "category": "repair_quality", "priority": "P3",
        "description": "foreign reference probe", **refs})


def _refused(answer: Any, field: str) -> tuple[str, str]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["errors"] == [{"field": field, "message": f"unknown {KIND[field]}"}]
    return body["title"], body["detail"]


def _stored_probes(world: World) -> list[dict]:
    items = world.network.manufacturer.client.get("/v1/complaints", params={"limit": 500}).json()["items"]
    return [case for case in items if case["description"] == "foreign reference probe"]


def test_sibling_cousin_other_dealer_and_unknown_references_are_one_and_the_same_422(world: World) -> None:
    a, b, c = (world.records[org.code] for org in (world.a, world.b, world.c))
    foreign = {
        "customer_id": [b.customer_id, c.customer_id, str(uuid.uuid4())],
        "vin": [b.vin, c.vin, vin()],
        "ro_number": [b.ro_number, c.ro_number, "RO-NEVER-WAS", "RO-\x00"],
        "survey_response_id": [b.survey_response_id, c.survey_response_id, str(uuid.uuid4())],
    }
    for field, values in foreign.items():
        answers = {_refused(_open(world.a, world.a.code, **{field: value}), field) for value in values}
        # The distributor above A and B sees B's record, but it is not the dealer named.
        answers.add(_refused(_open(world.north, world.a.code, **{field: getattr(b, field)}), field))
        assert len(answers) == 1, f"{field}: the answers differ, so they tell what exists: {answers}"
    # A's own records, all consistent: accepted.
    own = _open(world.a, world.a.code, customer_id=a.customer_id, vin=a.vin, ro_number=a.ro_number)
    assert own.status_code == 201, own.text
    assert [case["id"] for case in _stored_probes(world)] == [own.json()["id"]]


def test_a_visit_is_the_named_dealers_and_of_the_customer_named_with_it(world: World) -> None:
    a, b = world.records[world.a.code], world.records[world.b.code]
    _refused(_open(world.north, world.b.code, customer_id=b.customer_id, vin=b.vin, ro_number=a.ro_number), "ro_number")
    someone_else = customer(world.a, world.a.code)
    _refused(_open(world.a, world.a.code, customer_id=someone_else["id"], ro_number=a.ro_number), "ro_number")
    assert not [case for case in _stored_probes(world) if case["customer_id"] == someone_else["id"]]


def test_a_foreign_response_that_already_has_an_alert_case_is_422_not_500(world: World) -> None:
    for owner in (world.b, world.c):
        answer = _open(world.a, world.a.code, survey_response_id=world.records[owner.code].survey_response_id)
        _refused(answer, "survey_response_id")
