"""Finding 14: input that a hostile or careless caller sends is a 4xx problem, never a 500.

Cursors are caller input (any shape, a naive time, a year-9999 time with an offset), times
must carry an offset, and money is bounded (`1e30` minor units once reached the BIGINT
column and failed there).
"""

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.e2e.test_survey_flow import vin
from tests.e2e.test_survey_page import customer, post_invitation, published_survey
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

LISTS = ["/v1/customers", "/v1/follow-ups", "/v1/complaints", "/v1/survey-responses", "/v1/surveys",
         "/v1/survey-invitations", "/v1/quality-signals", "/v1/bulletins"]
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CURSORS = {
    "naive time": cursor_of(["2026-01-01T00:00:00", ZERO_ID]),
    "year 9999 west of UTC": cursor_of(["9999-12-31T23:59:59-14:00", ZERO_ID]),
    "object": cursor_of({"created_at": "2026-01-01T00:00:00+00:00", "id": ZERO_ID}),
    "three items": cursor_of(["2026-01-01T00:00:00+00:00", ZERO_ID, 1]),
    "numbers": cursor_of([1, 2]),
    "not base64": "!!!***",
    "not JSON": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
}


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


def problem(response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


class TestCursors:
    @pytest.mark.parametrize("name", sorted(CURSORS))
    def test_a_cursor_of_the_wrong_shape_is_a_400_on_every_list(self, dealer: Org, name: str) -> None:
        for path in LISTS:
            answer = dealer.client.get(path, params={"cursor": CURSORS[name]})
            assert answer.status_code == 400 and problem(answer), (path, answer.status_code, answer.text)
            assert answer.json()["errors"] == [{"field": "cursor", "message": "invalid cursor"}]


class TestTimes:
    def test_a_naive_from_on_survey_responses_is_a_422(self, dealer: Org) -> None:
        answer = dealer.client.get("/v1/survey-responses", params={"from": "2026-01-01T00:00:00"})
        assert answer.status_code == 422 and problem(answer), answer.text
        assert answer.json()["errors"][0]["field"].endswith("from")


class TestMoney:
    def test_amount_minor_1e30_is_a_422_and_stores_nothing(self, dealer: Org) -> None:
        someone = customer(dealer, dealer.code)
        car = vin()
        ro = f"RO-{uuid.uuid4().hex[:8]}"
        body = {"ro_number": ro, "vin": car, "customer_id": someone["id"], "dealer_code": dealer.code,
                "visit_type": "repair", "closed_at": datetime.now(UTC).isoformat(), "amount_minor": 1e30}
        answer = dealer.client.post("/v1/service-visits", json=body)
        assert answer.status_code == 422 and problem(answer), answer.text
        assert any(e["field"].endswith("amount_minor") for e in answer.json()["errors"])
        assert dealer.client.post("/v1/service-visits", json={**body, "amount_minor": 123_45}).status_code == 201

    def test_compensation_1e30_is_a_422(self, dealer: Org) -> None:
        case = dealer.client.post("/v1/complaints", json={"dealer_code": dealer.code, "channel": "hotline",
                                                          "category": "other", "priority": "P3", "description": "x"})
        assert case.status_code == 201, case.text
        answer = dealer.client.put(f"/v1/complaints/{case.json()['id']}/resolution",
                                   json={"summary": "s", "root_cause": "process", "compensation_minor": 1e30},
                                   headers={"If-Match": case.headers["ETag"]})
        assert answer.status_code == 422 and problem(answer), answer.text


class TestStaffCodes:
    """Issue 15: who served, on an invitation and an imported result: a 1000-character staff code
    is a 422 (a row error in an import) and stores nothing."""

    def test_a_1000_character_staff_code_is_a_422_and_stores_nothing(self, dealer: Org) -> None:
        survey_id = published_survey(dealer, {"template": "csi", "code": f"staff_{uuid.uuid4().hex[:8]}"})
        someone = customer(dealer, dealer.code)
        long = {"advisor": "A" * 1000}
        answer = post_invitation(dealer, {"survey_id": survey_id, "customer_id": someone["id"],
                                          "dealer_code": dealer.code, "channel": "sms", "context": {"staff": long}})
        assert answer.status_code == 422 and problem(answer), answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["context.staff.advisor"]
        assert dealer.client.get("/v1/survey-invitations", params={"customer_id": someone["id"]}).json()["items"] == []
        row = {"external_id": f"X-{uuid.uuid4().hex[:8]}", "dealer_code": dealer.code, "staff": long,
               "submitted_at": datetime.now(UTC).isoformat(), "answers": {"nps": 9}}
        imported = dealer.client.post("/v1/survey-responses/import", json={"survey_id": survey_id, "responses": [row]})
        assert imported.status_code == 200, imported.text
        assert (imported.json()["created"], [e["field"] for e in imported.json()["errors"]]) == (0, ["staff.advisor"])
