"""A network with records to point at, for the foreign-reference tests (running suite).

Manufacturer > distributors N and S; dealers A and B under N (siblings), C under S (A's
cousin). Each dealer holds a customer, a vehicle on file, a closed repair visit, an appointment, a survey
response that raised an alert (so it has an alert case) and a complaint case of its own.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.e2e.test_survey_flow import vin
from tests.e2e.test_survey_page import customer
from tests.support.polling import created, eventually
from tests.support.staff import on_staff
from tests.support.suite import ALL_SCOPES, Network, Org




@dataclass
class Records:
    org: Org
    customer_id: str
    vin: str
    ro_number: str
    visit_id: str
    survey_response_id: str
    complaint_id: str
    survey_id: str  # the dealer's own published NPS survey
    appointment_id: str  # booked for the customer and the car
    staff_code: str  # a code on this dealer's staff only


@dataclass
class World:
    network: Network
    north: Org
    south: Org
    a: Org
    b: Org  # A's sibling
    c: Org  # A's cousin
    records: dict[str, Records]


def dealer_records(network: Network, dealer: Org) -> Records:
    person = customer(dealer, dealer.code)
    car = vin()
    created(dealer.client.post("/v1/vehicles", json={"vin": car, "model": "Lumen S", "model_year": 2025,
                                                     "owner_customer_id": person["id"]}))
    opened = datetime.now(UTC) - timedelta(hours=3)
    visit = created(dealer.client.post("/v1/service-visits", json={
        "ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": car, "customer_id": person["id"], "dealer_code": dealer.code,
        "visit_type": "repair", "opened_at": opened.isoformat(), "closed_at": (opened + timedelta(hours=2)).isoformat(),
        "symptom_codes": ["BRK01"], "op_codes": ["OP100"], "mileage_km": 1000, "amount_minor": 100, "advisor": on_staff(dealer, "李强")}))
    survey = created(dealer.client.post("/v1/surveys", json={"template": "nps", "code": f"nps_{uuid.uuid4().hex[:8]}"}))
    created(dealer.client.post(f"/v1/surveys/{survey['id']}/publish"))
    invitation = created(dealer.client.post("/v1/survey-invitations", json={
        "survey_id": survey["id"], "customer_id": person["id"], "dealer_code": dealer.code, "channel": "sms",
        "consent_confirmed": True}))
    response = created(network.client(None).post(f"/v1/public/surveys/{invitation['token']}/responses",
                                                  json={"answers": {"nps": 1, "nps_reason": "等了三个小时"}}))
    eventually(lambda: [c for c in dealer.client.get("/v1/complaints", params={"customer_id": person["id"]}).json()["items"]
                        if c["survey_response_id"] == response["id"]], "the detractor's alert case")
    case = created(dealer.client.post("/v1/complaints", json={
        "dealer_code": dealer.code, "customer_id": person["id"], "vin": car, "channel": "hotline",
        "category": "other", "priority": "P3", "description": "A case of its own"}))
    appointment = created(dealer.client.post("/v1/appointments", json={
        "dealer_code": dealer.code, "customer_id": person["id"], "vin": car,
        "slot_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}))
    return Records(dealer, person["id"], car, visit["ro_number"], visit["id"], response["id"], case["id"],
                   survey["id"], appointment["id"], on_staff(dealer, f"ST-{dealer.code}"))


def build_world(network: Network) -> World:
    # Every scope, KPI targets' too: the reference tests write to every operation.
    scopes = sorted({*ALL_SCOPES, "kpi:write"})
    north, south = network.org("distributor", scopes=scopes), network.org("distributor", scopes=scopes)
    a, b, c = (network.org("dealer", parent, scopes=scopes) for parent in (north, north, south))
    return World(network, north, south, a, b, c, {org.code: dealer_records(network, org) for org in (a, b, c)})
