"""Tasks the quality loop's events make: a bulletin reminder on the dealer manager's list (no
customer), and a recall call per affected VIN whose owner can be called."""

import uuid

import httpx
import pytest

from shared.events import new_event
from tests.customer.conftest import ORGS, ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create
from tests.customer.test_followups import tasks

pytestmark = pytest.mark.asyncio


async def _event(client_for: ClientFactory, type_: str, data: dict) -> None:
    relay = client_for("system")
    event = new_event("/csloop/complaint", type_, None, data).model_dump(mode="json")
    for _ in range(2):  # delivered twice, as a relay may: one task
        response = await relay.post("/internal/events", json=event)
        assert response.status_code == 200, response.text


async def test_an_overdue_bulletin_is_a_task_for_the_dealers_manager(dealer: httpx.AsyncClient, client_for) -> None:
    bulletin_id = str(uuid.uuid4())
    await _event(client_for, "bulletin.overdue", {
        "bulletin_id": bulletin_id, "title": "Front axle bearing", "dealer_code": "DLR-0042",
        "org_path": ORGS["DLR-0042"][1], "published_at": "2026-11-06T02:00:00Z", "due_at": "2026-11-11T10:00:00Z"})
    # Due a day after the acknowledgement was.
    [task] = [t for t in await tasks(dealer, kind="bulletin") if t["due_at"].startswith("2026-11-12T10:00:00")]
    assert task["customer_id"] is None and task["assignee"] == "MG01" and task["status"] == "open"
    assert not [t for t in await tasks(client_for("DLR-0043"), kind="bulletin") if t["due_at"].startswith("2026-11-12T10")]


async def test_a_recall_call_per_affected_vin_whose_owner_has_a_phone(dealer: httpx.AsyncClient, client_for) -> None:
    reachable = await create(dealer)
    silent = await create(dealer, phone=None)
    vins = [vin_with_check_digit() for _ in range(3)]
    for vin, customer in zip(vins, (reachable, silent)):
        answer = await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"],
                                                           "dealer_code": "DLR-0042", "delivered_at": "2026-05-01T10:00:00Z"})
        assert answer.status_code == 201, answer.text
    code = f"RC-{uuid.uuid4().hex[:6]}"
    await _event(client_for, "recall.vin_assigned", {
        "recall_code": code, "title": "Fuel pump relay", "remedy_op_code": "RC14A", "dealer_code": "DLR-0042",
        "org_path": ORGS["DLR-0042"][1], "vins": vins, "assigned_at": "2026-11-02T00:00:00Z"})
    recall_tasks = [t for t in await tasks(dealer, kind="recall") if t["vin"] in vins]
    # The owner without a phone cannot be called; the third VIN has no owner on this dealer's file.
    assert [(t["vin"], t["customer_id"]) for t in recall_tasks] == [(vins[0], reachable["id"])]
