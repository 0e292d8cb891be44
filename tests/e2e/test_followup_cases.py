"""A dissatisfied follow-up call becomes exactly one complaint case, end to end between the real
processes (issue 14): followup.issue_found reaches the complaint service (here posted to it as the
relay would, until the desk records attempts), which opens a follow_up case; complaint.opened
comes back to the customer service, whose screen pop then lists the case, and the 360 view
shows it with its follow-up."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cli.topology import internal_secret, url_of
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.events import new_event
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

VIN = "LFV3A23C7K3012345"


def _eventually(fetch: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def _post_to_complaint_service(network: Network, type_: str, data: dict[str, Any], event_id: str) -> str:
    suite = network.suite
    [complaint] = [c for c in suite.components if c.name == "complaint"]
    event = new_event("/csloop/customer", type_, f"follow-ups/{data['followup_id']}", data)
    event.id = event_id
    token = mint_internal_token(system_principal(), internal_secret(suite.data_dir))
    answer = httpx.post(f"{url_of(complaint, suite.port_base)}/internal/events", json=event.model_dump(mode="json"),
                        headers={INTERNAL_HEADER: token}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


def _customer_with_a_call(dealer: Org) -> tuple[dict, dict]:
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    created = dealer.client.post("/v1/customers", json={
        "external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "周敏", "phone": phone,
        "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}})
    assert created.status_code == 201, created.text
    customer = created.json()
    assert dealer.client.post("/v1/vehicles", json={"vin": VIN, "model": "bZ4X", "model_year": 2026,
                                                    "owner_customer_id": customer["id"]}).status_code == 201
    delivered = dealer.client.post("/v1/deliveries", json={"vin": VIN, "customer_id": customer["id"],
                                                           "dealer_code": dealer.code,
                                                           "delivered_at": datetime.now(UTC).isoformat()})
    assert delivered.status_code == 201, delivered.text
    [call] = _eventually(lambda: dealer.client.get("/v1/follow-ups", params={"customer_id": customer["id"]}).json()["items"])
    return customer, call


def test_a_dissatisfied_call_opens_one_case_seen_in_the_screen_pop_and_the_360_view(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))
    customer, call = _customer_with_a_call(dealer)
    path = dealer.client.get(f"/v1/orgs/{dealer.code}").json()["path"]
    issue = {"dealer_code": dealer.code, "org_path": path, "followup_id": call["id"], "kind": call["kind"],
             "customer_id": customer["id"], "vin": VIN, "issue_codes": ["attitude", "price"],
             "note": "顾问态度不好", "agent": "CR01", "found_at": datetime.now(UTC).isoformat()}
    event_id = str(uuid.uuid4())
    assert _post_to_complaint_service(network, "followup.issue_found", issue, event_id) == "applied"
    assert _post_to_complaint_service(network, "followup.issue_found", issue, event_id) == "duplicate"
    assert _post_to_complaint_service(network, "followup.issue_found", issue, str(uuid.uuid4())) == "applied"

    [case] = _eventually(lambda: dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"])
    assert (case["channel"], case["priority"], case["category"], case["followup_id"]) == (
        "follow_up", "P3", "staff_attitude", call["id"])

    def pop() -> list[dict]:
        [found] = dealer.client.get("/v1/lookup", params={"phone": customer["phone"]}).json()["customers"]
        return found["open_complaints"]

    [listed] = _eventually(pop)
    assert (listed["id"], listed["number"], listed["status"]) == (case["id"], case["number"], "new")
    view = dealer.client.get(f"/v1/customers/{customer['id']}/360").json()
    assert [(c["id"], c["channel"], c["followup_id"]) for c in view["complaints"]] == [(case["id"], "follow_up", call["id"])]

    resolved = _resolve(dealer, case)
    assert resolved["status"] == "resolved"
    assert _eventually(lambda: pop() == [])
    assert len(dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"]) == 1


def _resolve(dealer: Org, case: dict) -> dict:
    current = case
    for to in ("acknowledged", "in_progress", "resolved"):
        moved = dealer.client.post(f"/v1/complaints/{case['id']}/transitions", json={"to": to},
                                   headers={"If-Match": f'"v{current["version"]}"'})
        assert moved.status_code == 200, moved.text
        current = moved.json()
    return current


def test_a_dissatisfied_attempt_becomes_one_case_linked_both_ways(network: Network) -> None:
    """The desk's own path: recording the dissatisfied attempt publishes followup.issue_found."""
    dealer = network.org("dealer", network.org("distributor"))
    customer, call = _customer_with_a_call(dealer)
    attempt = dealer.client.post(f"/v1/follow-ups/{call['id']}/attempts", json={
        "reached": True, "channel": "phone", "satisfaction": "dissatisfied", "issue_codes": ["parts", "not_fixed"],
        "note": "配件等了两周还没到"})
    assert attempt.status_code in (200, 201), attempt.text

    [case] = _eventually(lambda: dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"])
    assert (case["channel"], case["priority"], case["category"], case["followup_id"]) == (
        "follow_up", "P3", "parts_availability", call["id"])
    assert case["description"].startswith("配件等了两周还没到")
    linked = _eventually(lambda: dealer.client.get(f"/v1/follow-ups/{call['id']}").json().get("complaint_id"))
    assert linked == case["id"]
    time.sleep(1.5)  # a redelivery, if there were one, would have landed by now
    assert len(dealer.client.get("/v1/complaints", params={"customer_id": customer["id"]}).json()["items"]) == 1
