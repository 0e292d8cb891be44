"""Repeat visits and EDER evidence (issue 18 items 1, 2): a visit names the RO whose fix failed
(`repeat_of_ro`, resolved among the same VIN's visits at any dealer, revealing none) and why
(`repeat_cause`); service_visit.closed carries them and the vehicle's model; a follow-up call that
finds the fix failed names the visit's model and symptom codes."""

from typing import Any

import httpx
import pytest

from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events
from tests.customer.test_fact_import import send
from tests.customer.test_followups import deliver, tasks
from tests.customer.test_followups_desk import attempt, events_of

pytestmark = pytest.mark.asyncio


async def visit(client: httpx.AsyncClient, dealer_code: str, vin: str, ro: str, **extra: Any) -> httpx.Response:
    customer = await create(client, dealer_code=dealer_code)
    return await client.post("/v1/service-visits", json={
        "ro_number": ro, "vin": vin, "customer_id": customer["id"], "dealer_code": dealer_code, "visit_type": "repair",
        "opened_at": "2026-05-02T09:00:00Z", "closed_at": "2026-05-02T17:00:00Z", "symptom_codes": ["NVH-01"], **extra})


async def test_a_repeat_names_the_first_fix_at_another_dealer_and_the_event_carries_it(
        client_for: ClientFactory, app) -> None:
    north, south = client_for("DLR-0042"), client_for("DLR-0043")
    vin = vin_with_check_digit()
    assert (await south.post("/v1/vehicles", json={"vin": vin, "dealer_code": "DLR-0043", "model": "X7"})).status_code == 201
    first = await visit(north, "DLR-0042", vin, f"RO-{vin[-6:]}-1")
    assert first.status_code == 201, first.text
    repeat = await visit(south, "DLR-0043", vin, f"RO-{vin[-6:]}-2", repeat_of_ro=f"RO-{vin[-6:]}-1",
                         repeat_cause="diagnosis", opened_at="2026-05-10T09:00:00Z", closed_at="2026-05-10T12:00:00Z")
    assert repeat.status_code == 201, repeat.text
    assert (repeat.json()["repeat_of_ro"], repeat.json()["repeat_cause"]) == (f"RO-{vin[-6:]}-1", "diagnosis")
    [event] = [e["data"] for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == repeat.json()["id"]]
    assert (event["repeat_of_ro"], event["repeat_cause"], event["model"]) == (f"RO-{vin[-6:]}-1", "diagnosis", "X7")
    # The cause may come later, by PATCH: service_visit.updated carries it.
    url = f"/v1/service-visits/{repeat.json()['id']}"
    patched = await south.patch(url, json={"repeat_cause": "parts"}, headers={"If-Match": '"v1"'})
    assert patched.status_code == 200, patched.text
    [updated] = [e["data"] for e in await outbox_events(app, "service_visit.updated") if e["data"]["visit_id"] == repeat.json()["id"]]
    assert updated["repeat_cause"] == "parts"


@pytest.mark.parametrize("how", ["unknown", "another_vin", "itself"])
async def test_an_ro_that_is_not_another_visit_of_the_vin_is_one_422_and_nothing_stored(
        client_for: ClientFactory, how: str) -> None:
    north, south = client_for("DLR-0042"), client_for("DLR-0043")
    vin, other_vin = vin_with_check_digit(), vin_with_check_digit()
    sibling = await visit(south, "DLR-0043", other_vin, f"RO-{other_vin[-6:]}-S")  # a sibling's RO, another VIN
    assert sibling.status_code == 201
    ro = f"RO-{vin[-6:]}-N"
    named = {"unknown": "RO-NEVER-SEEN", "another_vin": f"RO-{other_vin[-6:]}-S", "itself": ro}[how]
    if how == "itself":
        made = await visit(north, "DLR-0042", vin, ro)
        refused = await north.patch(f"/v1/service-visits/{made.json()['id']}", json={"repeat_of_ro": ro},
                                    headers={"If-Match": '"v1"'})
    else:
        refused = await visit(north, "DLR-0042", vin, ro, repeat_of_ro=named, repeat_cause="parts")
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "repeat_of_ro", "message": "unknown visit"}]
    assert "DLR-0043" not in refused.text and other_vin not in refused.text
    listed = (await north.get("/v1/service-visits", params={"vin": vin})).json()["items"]
    assert [v["repeat_of_ro"] for v in listed] == ([None] if how == "itself" else [])


async def test_a_bad_repeat_cause_is_422(client_for: ClientFactory) -> None:
    north = client_for("DLR-0042")
    vin = vin_with_check_digit()
    await visit(north, "DLR-0042", vin, f"RO-{vin[-6:]}-1")
    refused = await visit(north, "DLR-0042", vin, f"RO-{vin[-6:]}-2", repeat_of_ro=f"RO-{vin[-6:]}-1", repeat_cause="luck")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "repeat_cause"


async def test_a_not_fixed_call_names_the_visits_model_and_symptoms(client_for: ClientFactory, app) -> None:
    dealer = client_for("DLR-0042")
    vin = vin_with_check_digit()
    assert (await dealer.post("/v1/vehicles", json={"vin": vin, "dealer_code": "DLR-0042", "model": "X7"})).status_code == 201
    made = await visit(dealer, "DLR-0042", vin, f"RO-{vin[-6:]}-F", symptom_codes=["NVH-01", "BRK-02"])
    await deliver(app, client_for, "service_visit.closed", "visit_id", made.json()["id"], times=1)
    [task] = await tasks(dealer, customer_id=made.json()["customer_id"])
    answer = await attempt(dealer, task, reached=True, satisfaction="dissatisfied", issue_codes=["not_fixed"])
    assert answer.status_code == 200, answer.text
    [issue] = await events_of(app, "followup.issue_found", task["id"])
    assert (issue["data"]["model"], issue["data"]["symptom_codes"]) == ("X7", ["NVH-01", "BRK-02"])


async def test_the_visits_import_takes_the_repeat_columns_and_refuses_an_unknown_ro_per_row(
        client_for: ClientFactory) -> None:
    dealer = client_for("DLR-0042")
    vin = vin_with_check_digit()
    first = await visit(dealer, "DLR-0042", vin, f"RO-{vin[-6:]}-1")
    owner = (await dealer.get(f"/v1/customers/{first.json()['customer_id']}")).json()["external_id"]
    header = "ro_number,vin,customer_external_id,visit_type,repeat_of_ro,repeat_cause\n"
    rows = f"RO-{vin[-6:]}-2,{vin},{owner},repair,RO-{vin[-6:]}-1,workmanship\nRO-{vin[-6:]}-3,{vin},{owner},repair,RO-NONE,parts\n"
    result = (await send(dealer, "/v1/service-visits/import", header + rows)).json()
    assert (result["created"], result["failed"]) == (1, 1), result
    assert result["errors"] == [{"row": 2, "field": "repeat_of_ro", "message": "unknown visit"}]
    listed = (await dealer.get("/v1/service-visits", params={"vin": vin})).json()["items"]
    assert sorted((v["ro_number"], v["repeat_of_ro"], v["repeat_cause"]) for v in listed) == [
        (f"RO-{vin[-6:]}-1", None, None), (f"RO-{vin[-6:]}-2", f"RO-{vin[-6:]}-1", "workmanship")]
