"""appointment.changed reaches the dealer's webhooks, through the gateway and the suite's event relay."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_survey_page import customer
from tests.support.polling import created, eventually
from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def test_booking_and_each_status_change_reach_a_webhook(network: Network) -> None:
    dealer = network.org("dealer", network.org("distributor"))  # its own, so the webhook sees only these events
    hook = created(dealer.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/appointments",
                                                             "org_code": dealer.code, "event_types": ["appointment."]}))
    person = customer(dealer, dealer.code)
    booked = created(dealer.client.post("/v1/appointments", json={
        "dealer_code": dealer.code, "customer_id": person["id"],
        "slot_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "service_type": "repair"}))
    closed = dealer.client.post(f"/v1/appointments/{booked['id']}/status", json={"to": "no_show"})
    assert closed.status_code == 200, closed.text

    def both_sent() -> list[str] | None:
        sent = dealer.client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
        return sorted(d["event_type"] for d in sent) if len(sent) >= 2 else None

    assert eventually(both_sent, "both appointment events at the webhook", 30) == ["appointment.changed"] * 2
