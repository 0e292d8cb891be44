"""The desk's events reach a DMS as webhooks (issue 14 item 7), through the running suite:
desk settings at the gateway's path, a follow-up made by events, assigned, attempts that end it
and the contacts they log (appointment.changed: test_appointments_webhooks.py)."""

import pytest

from tests.e2e.test_survey_flow import EVENT_TIMEOUT
from tests.support.polling import eventually
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e


def sent_types(dealer: Org, hook_id: str) -> list[str]:
    return sorted(d["event_type"] for d in dealer.client.get(f"/v1/webhooks/{hook_id}/deliveries").json()["items"])


def test_assigned_unreachable_issue_found_and_contacts_are_webhooks(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))  # its own, so its webhook sees only this test's events
    hook = dealer.client.post("/v1/webhooks", json={
        "url": "http://127.0.0.1:9/desk", "org_code": dealer.code,
        "event_types": ["followup.assigned", "followup.unreachable", "followup.issue_found", "followup.completed",
                        "interaction.logged"]})
    assert hook.status_code == 201, hook.text
    url = f"/v1/dealers/{dealer.code}/desk-settings"
    settings = dealer.client.get(url)
    assert settings.status_code == 200, settings.text
    assert dealer.client.put(url, json={"max_attempts": 1}, headers={"If-Match": settings.headers["ETag"]}).status_code == 200

    def open_calls() -> list[dict] | None:
        items = dealer.client.get("/v1/follow-ups", params={"dealer_code": dealer.code, "status": "open"}).json()["items"]
        return items if len(items) >= 2 else None

    for name in ("王芳", "李娜"):
        assert dealer.client.post("/v1/prospects", json={"name": name, "level": "H"}).status_code == 201
    first, second = eventually(open_calls, "the prospects' first calls", EVENT_TIMEOUT)[:2]
    assert first["max_attempts"] == 1
    agent = dealer.client.post("/v1/staff", json={"dealer_code": dealer.code, "code": "CR-HOOK", "name": "陈静",
                                                  "role": "cr_agent"})
    assert agent.status_code == 201, agent.text
    assigned = dealer.client.post(f"/v1/follow-ups/{first['id']}/assign", json={"assignee": "CR-HOOK"})
    assert assigned.status_code == 200, assigned.text
    gone = dealer.client.post(f"/v1/follow-ups/{first['id']}/attempts", json={"reached": False, "channel": "phone"})
    assert gone.status_code == 200 and gone.json()["status"] == "unreachable", gone.text
    unhappy = dealer.client.post(f"/v1/follow-ups/{second['id']}/attempts", json={
        "reached": True, "channel": "phone", "satisfaction": "dissatisfied", "issue_codes": ["attitude"]})
    assert unhappy.status_code == 200, unhappy.text
    # Each attempt is a contact (interaction.logged) too.
    expected = ["followup.assigned", "followup.completed", "followup.issue_found", "followup.unreachable",
                "interaction.logged", "interaction.logged"]
    assert eventually(lambda: sent_types(dealer, hook.json()["id"]) if len(sent_types(dealer, hook.json()["id"])) >= 6
                      else None, "the desk's webhooks", EVENT_TIMEOUT) == expected
