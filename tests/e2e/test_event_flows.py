"""Events end to end between real services, on both transports: HTTP (default) and NATS JetStream."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.test_survey_page import post_invitation
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

VIN = "LFV3A23C7K3012345"


@pytest.fixture(params=["network", "nats_network"], ids=["http", "nats"])
def dealer(request: pytest.FixtureRequest) -> Org:
    network: Network = request.getfixturevalue(request.param)
    return network.org("dealer", network.org("distributor"))


def _eventually(fetch: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def _customer(dealer: Org) -> dict:
    created = dealer.client.post("/v1/customers", json={
        "external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "孙丽",
        "phone": f"136{uuid.uuid4().int % 10**8:08d}",
        "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}})
    assert created.status_code == 201, created.text
    return created.json()


def test_a_delivery_makes_a_new_car_follow_up_and_an_ssi_invitation(dealer: Org) -> None:
    customer = _customer(dealer)
    assert dealer.client.post("/v1/vehicles", json={"vin": VIN, "model": "bZ4X", "model_year": 2026,
                                                    "owner_customer_id": customer["id"]}).status_code == 201
    delivered = dealer.client.post("/v1/deliveries", json={"vin": VIN, "customer_id": customer["id"], "dealer_code": dealer.code,
                                                           "delivered_at": datetime.now(UTC).isoformat()})
    assert delivered.status_code == 201, delivered.text
    follow_ups = _eventually(lambda: dealer.client.get("/v1/follow-ups", params={"customer_id": customer["id"]}).json()["items"])
    assert [f["kind"] for f in follow_ups] == ["new_car"]
    invitations = _eventually(lambda: dealer.client.get("/v1/survey-invitations", params={"customer_id": customer["id"]}).json()["items"])
    assert [i["kind"] for i in invitations] == ["ssi"]


def test_a_detractor_opens_one_complaint_case_linked_to_the_response(dealer: Org) -> None:
    customer = _customer(dealer)
    survey = dealer.client.post("/v1/surveys", json={"template": "nps"})
    assert survey.status_code == 201, survey.text
    assert dealer.client.post(f"/v1/surveys/{survey.json()['id']}/publish").status_code == 200
    invitation = post_invitation(dealer, {
        "survey_id": survey.json()["id"], "customer_id": customer["id"], "dealer_code": dealer.code,
        "channel": "sms", "context": {"ro_number": "RO-LOOP-1"}})
    assert invitation.status_code == 201, invitation.text

    public = dealer.client.post(f"/v1/public/surveys/{invitation.json()['token']}/responses",
                                json={"answers": {"nps": 2, "nps_reason": "等了三个小时"}})
    assert public.status_code == 201, public.text
    response = public.json()
    assert response["scores"]["nps_category"] == "detractor"

    cases = _eventually(lambda: dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"])
    assert [(c["channel"], c["survey_response_id"]) for c in cases] == [("survey_alert", response["id"])]
    time.sleep(1.5)  # a redelivery, if there were one, would have landed by now
    assert len(dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"]) == 1


def test_erasure_reaches_the_survey_service(dealer: Org) -> None:
    customer = _customer(dealer)
    survey = dealer.client.post("/v1/surveys", json={"template": "nps"}).json()
    dealer.client.post(f"/v1/surveys/{survey['id']}/publish")
    assert dealer.client.post(f"/v1/customers/{customer['id']}/erase").status_code in (200, 202)

    def refused_as_erased() -> bool:
        answer = dealer.client.post("/v1/survey-invitations", json={
            "survey_id": survey["id"], "customer_id": customer["id"], "dealer_code": dealer.code,
            "channel": "sms", "context": {}, "consent_confirmed": True})
        return answer.status_code == 409 and answer.json().get("reason") == "customer_erased"

    assert _eventually(refused_as_erased)
