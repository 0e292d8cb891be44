"""The closed loop across real services: a detractor's answer opens a complaint case, once."""

import time
import uuid

import pytest

from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e


def _wait_for(fetch, timeout: float = 20.0):  # noqa: ANN001, ANN202 - a small polling helper
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


def test_a_detractor_opens_one_complaint_case_linked_to_the_response(dealer: Org) -> None:
    customer = dealer.client.post("/v1/customers", json={
        "external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "孙丽", "phone": f"136{uuid.uuid4().int % 10**8:08d}",
        "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}}).json()
    survey = dealer.client.post("/v1/surveys", json={"template": "nps"})
    assert survey.status_code == 201, survey.text
    assert dealer.client.post(f"/v1/surveys/{survey.json()['id']}/publish").status_code == 200
    invitation = dealer.client.post("/v1/survey-invitations", json={
        "survey_id": survey.json()["id"], "customer_id": customer["id"], "dealer_code": dealer.code,
        "channel": "sms", "context": {"ro_number": "RO-LOOP-1"}, "consent_confirmed": True})
    assert invitation.status_code == 201, invitation.text
    token = invitation.json()["token"]

    public = dealer.client.post(f"/v1/public/surveys/{token}/responses",
                                json={"answers": {"nps": 2, "nps_reason": "等了三个小时"}}, headers={"Authorization": ""})
    assert public.status_code == 201, public.text
    response = public.json()
    assert response["scores"]["nps_category"] == "detractor"

    cases = _wait_for(lambda: dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"])
    assert len(cases) == 1
    case = cases[0]
    assert case["channel"] == "survey_alert"
    assert case["survey_response_id"] == response["id"]
    time.sleep(1.5)  # a redelivery, if there were one, would have landed by now
    assert len(dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"]) == 1
