"""Surveys end to end through the gateway: invitations made by customer-service events (via the
outbox relays), consent, scored responses, alerts, and who may read them (BOLA)."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.types import vin_check_digit
from tests.e2e.test_survey_page import customer, invite, post_invitation, published_survey
from tests.support.polling import eventually
from tests.support.staff import on_staff
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

EVENT_TIMEOUT = 20.0  # the relays run every 0.5 s; this is slack for a loaded CI machine



def vin() -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
    chars = list("LFV") + [random.choice(alphabet) for _ in range(14)]
    chars[8] = "0"
    chars[8] = vin_check_digit("".join(chars))
    return "".join(chars)


def invitations_of(org: Org, customer_id: str) -> list[dict]:
    listed = org.client.get("/v1/survey-invitations", params={"customer_id": customer_id})
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


def csi_answers(score: int, *, nps: int, fixed: str = "yes") -> dict[str, Any]:
    rows = {"initiation": ["appointment", "greeting"],
            "advisor": ["courtesy", "honesty", "knowledge", "understanding", "explaining"],
            "facility": ["cleanliness", "comfort", "amenities"],
            "pickup": ["on_time", "explanation", "payment", "cleanliness"],
            "quality": ["diagnosis", "fixed_right", "complete"]}
    answers: dict[str, Any] = {code: {row: score for row in names} for code, names in rows.items()}
    answers |= {"fixed_first_time": fixed, "nps": nps}
    if nps <= 6:
        answers["nps_reason"] = "等了两个小时"
    return answers


@pytest.fixture(scope="module")
def tree(network: Network) -> dict[str, Org]:
    north = network.org("distributor")
    return {"north": north, "dealer_a": network.org("dealer", north), "dealer_b": network.org("dealer", north)}


@pytest.fixture(scope="module")
def csi_survey(tree: dict[str, Org]) -> str:
    return published_survey(tree["north"], {"template": "csi", "code": f"csi_{uuid.uuid4().hex[:8]}"})


class TestInvitationsFromEvents:
    def test_a_delivery_schedules_an_ssi_invitation(self, tree: dict[str, Org]) -> None:
        dealer = tree["dealer_a"]
        buyer = customer(dealer, dealer.code)
        car = vin()
        vehicle = dealer.client.post("/v1/vehicles", json={"vin": car, "model": "Lumen S", "model_year": 2026,
                                                           "plate": "京A12345", "owner_customer_id": buyer["id"]})
        assert vehicle.status_code == 201, vehicle.text
        delivered = dealer.client.post("/v1/deliveries", json={
            "vin": car, "customer_id": buyer["id"], "dealer_code": dealer.code,
            "delivered_at": datetime.now(UTC).isoformat(), "sales_consultant": on_staff(dealer, "王敏", "sales_consultant")})
        assert delivered.status_code == 201, delivered.text
        (invitation,) = eventually(lambda: invitations_of(dealer, buyer["id"]), "the SSI invitation", EVENT_TIMEOUT)
        assert invitation["kind"] == "ssi" and invitation["status"] == "scheduled"
        assert invitation["context"]["vin"] == car and invitation["dealer_code"] == dealer.code

    def test_a_closed_repair_visit_schedules_a_csi_invitation(self, tree: dict[str, Org]) -> None:
        dealer = tree["dealer_a"]
        owner = customer(dealer, dealer.code)
        car = vin()
        assert dealer.client.post("/v1/vehicles", json={"vin": car, "model": "Lumen S", "model_year": 2024,
                                                        "owner_customer_id": owner["id"]}).status_code == 201
        opened = datetime.now(UTC) - timedelta(hours=5)
        visit = dealer.client.post("/v1/service-visits", json={
            "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": car, "customer_id": owner["id"],
            "dealer_code": dealer.code, "visit_type": "repair", "opened_at": opened.isoformat(),
            "closed_at": (opened + timedelta(hours=4)).isoformat(), "symptom_codes": ["BRK01"],
            "op_codes": ["OP100"], "mileage_km": 32000, "amount_minor": 88000, "advisor": on_staff(dealer, "李强")})
        assert visit.status_code == 201, visit.text
        (invitation,) = eventually(lambda: invitations_of(dealer, owner["id"]), "the CSI invitation", EVENT_TIMEOUT)
        assert invitation["kind"] == "csi" and invitation["status"] == "scheduled"
        assert invitation["context"]["ro_number"] == visit.json()["ro_number"]

    def test_replacing_a_closed_visit_sends_updated_and_no_second_invitation(self, network: Network,
                                                                            tree: dict[str, Org]) -> None:
        dealer = network.org("dealer", tree["north"])  # its own, so its webhook sees only this test's events
        hook = dealer.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/visits", "org_code": dealer.code,
                                                        "event_types": ["service_visit."]})
        assert hook.status_code == 201, hook.text
        owner, car = customer(dealer, dealer.code), vin()
        url = f"/v1/service-visits/by-ro/{dealer.code}/RO-{uuid.uuid4().hex[:8]}"
        opened = datetime.now(UTC) - timedelta(hours=5)
        body = {"vin": car, "customer_id": owner["id"], "visit_type": "repair", "opened_at": opened.isoformat(),
                "closed_at": (opened + timedelta(hours=4)).isoformat(), "symptom_codes": ["BRK01"]}
        assert dealer.client.put(url, json=body).status_code == 201
        eventually(lambda: invitations_of(dealer, owner["id"]), "the CSI invitation", EVENT_TIMEOUT)
        replaced = dealer.client.put(url, json=body | {"amount_minor": 99000,
                                                       "closed_at": (opened + timedelta(hours=4.5)).isoformat()})
        assert replaced.status_code == 200, replaced.text

        def both_sent() -> list[str] | None:
            sent = dealer.client.get(f"/v1/webhooks/{hook.json()['id']}/deliveries").json()["items"]
            return sorted(d["event_type"] for d in sent) if len(sent) >= 2 else None

        assert eventually(both_sent, "both visit events at the webhook", EVENT_TIMEOUT) == [
            "service_visit.closed", "service_visit.updated"]
        assert len(invitations_of(dealer, owner["id"])) == 1

    def test_a_customer_who_refused_surveys_is_not_invited_even_when_the_caller_vouches(
        self, tree: dict[str, Org], csi_survey: str,
    ) -> None:
        dealer = tree["dealer_a"]
        refuser = customer(dealer, dealer.code, survey_consent=False)
        body = {"survey_id": csi_survey, "customer_id": refuser["id"], "dealer_code": dealer.code, "channel": "sms"}
        # Unknown (422) until the customer event arrives; then the refusal it carries answers.
        refused = post_invitation(dealer, body)
        assert refused.status_code == 409 and refused.json()["reason"] == "no_consent", refused.text
        vouched = dealer.client.post("/v1/survey-invitations", json=body | {"consent_confirmed": True})
        assert vouched.status_code == 409 and vouched.json()["reason"] == "no_consent"

    def test_a_consenting_customer_learned_from_events_is_invited_without_vouching(
        self, tree: dict[str, Org], csi_survey: str,
    ) -> None:
        dealer = tree["dealer_a"]
        willing = customer(dealer, dealer.code)
        invited = post_invitation(dealer, {"survey_id": csi_survey, "customer_id": willing["id"],
                                           "dealer_code": dealer.code, "channel": "sms"})
        assert invited.status_code == 201, invited.text
        (listed,) = invitations_of(dealer, willing["id"])
        assert listed["status"] == "sent"
        # The survey is the distributor's: the dealer is not shown the link, its owner is.
        assert invited.json()["url"] is None and listed["url"] is None
        (owned,) = invitations_of(tree["north"], willing["id"])
        assert owned["url"].startswith("http")


class TestResponses:
    def test_a_response_through_the_public_api_is_scored(self, network: Network, tree: dict[str, Org],
                                                         csi_survey: str) -> None:
        token = invite(tree["dealer_a"], csi_survey, owner=tree["north"])["token"]
        public = network.client(None)
        assert public.get(f"/v1/public/surveys/{token}").json()["kind"] == "csi"
        submitted = public.post(f"/v1/public/surveys/{token}/responses", json={"answers": csi_answers(10, nps=10)})
        assert submitted.status_code == 201, submitted.text
        scores = submitted.json()["scores"]
        assert scores["index"] == 100.0 and scores["nps_category"] == "promoter"
        assert set(scores["factors"]) == {"service_quality", "service_facility", "vehicle_pickup", "service_advisor",
                                          "service_initiation"}
        stored = tree["dealer_a"].client.get(f"/v1/survey-responses/{submitted.json()['id']}")
        assert stored.status_code == 200 and stored.json()["alerts"] == []

    def test_a_low_score_raises_an_alert(self, network: Network, tree: dict[str, Org], csi_survey: str) -> None:
        token = invite(tree["dealer_a"], csi_survey, owner=tree["north"])["token"]
        submitted = network.client(None).post(f"/v1/public/surveys/{token}/responses",
                                              json={"answers": csi_answers(2, nps=1, fixed="no")})
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["scores"]["index"] < 60
        stored = tree["dealer_a"].client.get(f"/v1/survey-responses/{submitted.json()['id']}").json()
        assert stored["alerts"], "a low score must raise an alert"
        assert {"index_below", "nps_detractor", "critical_answer"} <= {reason["rule"] for reason in stored["alerts"]}

    def test_a_sibling_dealer_cannot_read_another_dealers_response_or_invitation(
        self, network: Network, tree: dict[str, Org], csi_survey: str,
    ) -> None:
        invitation = invite(tree["dealer_a"], csi_survey, owner=tree["north"])
        submitted = network.client(None).post(f"/v1/public/surveys/{invitation['token']}/responses",
                                              json={"answers": csi_answers(8, nps=8)})
        response_id = submitted.json()["id"]
        sibling = tree["dealer_b"].client
        assert sibling.get(f"/v1/survey-responses/{response_id}").status_code == 404
        assert sibling.get(f"/v1/survey-invitations/{invitation['id']}").status_code == 404
        listed = sibling.get("/v1/survey-responses", params={"customer_id": invitation["customer_id"]}).json()
        assert listed["items"] == []
        assert tree["north"].client.get(f"/v1/survey-responses/{response_id}").status_code == 200
