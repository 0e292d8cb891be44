"""`csloop kpi rebuild` against the real source services gives the figures the events gave."""

import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_survey_flow import EVENT_TIMEOUT
from tests.e2e.test_survey_page import post_invitation
from tests.support.polling import created, eventually
from tests.support.suite import Network

pytestmark = pytest.mark.e2e

NEW_CAR_DAYS = 3  # services/customer/settings.py: a delivery's call falls due three days on
DESK_KPIS = ("followup_contact_rate", "followup_dissatisfied_rate", "appointment_show_rate", "appointment_lead_days",
             "repair_lead_hours")


def _seed(network: Network) -> None:
    """A little of every kind of record, through the public API, so every KPI has facts: the
    desk's too (issue 14), a call made on the delivery's follow-up and an appointment kept."""
    dealer = network.org("dealer", network.org("distributor"))
    customer = dealer.client.post("/v1/customers", json={
        "external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "周强",
        "phone": f"135{uuid.uuid4().int % 10**8:08d}", "consent": {"survey": True}}).json()
    vin, now = "1M8GDM9AXKP042788", datetime.now(UTC)
    dealer.client.post("/v1/vehicles", json={"vin": vin, "model": "RAV4", "owner_customer_id": customer["id"]})
    # Delivered the follow-up delay ago, so its call falls due now, in the periods compared.
    dealer.client.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": dealer.code,
                                               "delivered_at": (now - timedelta(days=NEW_CAR_DAYS)).isoformat()})
    dealer.client.post("/v1/service-visits", json={
        "ro_number": "RO-RB-1", "vin": vin, "customer_id": customer["id"], "dealer_code": dealer.code,
        "visit_type": "repair", "opened_at": (now - timedelta(hours=2)).isoformat(), "closed_at": now.isoformat(),
        "symptom_codes": ["BRK-01"]})
    [call] = eventually(lambda: dealer.client.get("/v1/follow-ups", params={
        "customer_id": customer["id"], "kind": "new_car"}).json()["items"], "the delivery's follow-up", EVENT_TIMEOUT)
    created(dealer.client.post(f"/v1/follow-ups/{call['id']}/attempts", json={
        "reached": True, "channel": "phone", "satisfaction": "satisfied"}))
    appointment = created(dealer.client.post("/v1/appointments", json={
        "dealer_code": dealer.code, "customer_id": customer["id"], "vin": vin, "service_type": "maintenance",
        "requested_at": (now - timedelta(hours=1)).isoformat(), "slot_at": now.isoformat()}))
    created(dealer.client.post(f"/v1/appointments/{appointment['id']}/status", json={"to": "arrived"}))
    survey = dealer.client.post("/v1/surveys", json={"template": "nps"}).json()
    dealer.client.post(f"/v1/surveys/{survey['id']}/publish")
    invitation = post_invitation(dealer, {
        "survey_id": survey["id"], "customer_id": customer["id"], "dealer_code": dealer.code, "channel": "sms",
        "context": {}}).json()
    dealer.client.post(f"/v1/public/surveys/{invitation['token']}/responses", json={"answers": {"nps": 10}})
    dealer.client.post("/v1/complaints", json={"dealer_code": dealer.code, "customer_id": customer["id"], "vin": vin,
                                               "channel": "hotline", "category": "repair_quality", "priority": "P3",
                                               "description": "noise after repair"})


def _settled_summaries(network: Network, periods: list[str], quiet_seconds: float = 3.0) -> list[dict]:
    """The manufacturer's summaries once the relays have nothing left to deliver."""
    deadline, last, stable_since = time.monotonic() + 60, None, time.monotonic()
    while True:
        now = [network.manufacturer.client.get("/v1/kpi/summary", params={"period": p}).json() for p in periods]
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet_seconds:
            return now
        assert time.monotonic() < deadline, "the KPI figures did not settle"
        time.sleep(0.5)


def test_rebuild_from_the_source_services_gives_the_same_figures(network: Network) -> None:
    _seed(network)
    today = datetime.now(UTC)
    periods = [f"{today:%Y-%m}", f"{today.year}-Q{(today.month - 1) // 3 + 1}", f"{today.year}"]
    before = _settled_summaries(network, periods)
    assert before[0]["kpis"]["nps"]["n"] >= 1 and before[0]["kpis"]["complaint_rate"]["value"] is not None
    for kpi in DESK_KPIS:  # so the comparison below covers them
        assert before[0]["kpis"][kpi]["n"] >= 1, kpi
    result = subprocess.run([sys.executable, "-m", "cli", "kpi", "rebuild", "--data-dir",
                             str(network.suite.data_dir), "--port-base", str(network.suite.port_base)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    after = [network.manufacturer.client.get("/v1/kpi/summary", params={"period": p}).json() for p in periods]
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
