"""The complaint service's cases as the customer service keeps them (complaint.* events): the
summaries the screen pop lists, never undone by a late event, and the follow-up a dissatisfied
call opened a case from, linked to that case (issue 14)."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.customer.models import ComplaintSummary, FollowUp
from shared.db import utcnow
from shared.events import new_event
from tests.customer.conftest import ORGS, ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create
from tests.customer.test_followups import deliver, tasks

pytestmark = pytest.mark.asyncio

OPEN = {"new", "acknowledged", "in_progress", "awaiting_customer"}


def case_data(customer_id: str | None, *, complaint_id: str | None = None, dealer: str = "DLR-0042", status: str = "new",
              opened_at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """A complaint event's payload as the complaint service sends it (contract _Payload)."""
    opened = opened_at or utcnow()
    return {"complaint_id": complaint_id or str(uuid.uuid4()), "number": f"CMP-2026-{uuid.uuid4().int % 10**6:06d}",
            "dealer_code": dealer, "org_path": ORGS[dealer][1], "handling_org_code": dealer, "escalation_level": 0,
            "customer_id": customer_id, "vin": None, "channel": "follow_up", "category": "repair_quality",
            "priority": "P3", "status": status, "is_open": status in OPEN, "opened_at": opened.isoformat(),
            "first_response_due": (opened + timedelta(hours=8)).isoformat(),
            "resolution_due": (opened + timedelta(days=7)).isoformat(), **extra}


async def send(client_for: ClientFactory, type_: str, data: dict[str, Any], at: datetime | None = None) -> str:
    """POST a complaint event to /internal/events as the relay would, stamped `at` (default now)."""
    event = new_event("/csloop/complaint", type_, f"complaints/{data['complaint_id']}", data)
    if at:
        event.time = at
    answer = await client_for("system").post("/internal/events", json=event.model_dump(mode="json"))
    assert answer.status_code == 200, answer.text
    return answer.json()["outcome"]


async def opened(client_for: ClientFactory, customer_id: str | None, at: datetime | None = None, **extra: Any) -> dict:
    data = case_data(customer_id, **extra)
    assert await send(client_for, "complaint.opened", data, at) == "applied"
    return data


async def moved(client_for: ClientFactory, case: dict[str, Any], from_status: str, to_status: str,
                at: datetime | None = None, type_: str = "complaint.status_changed") -> None:
    at = at or utcnow()
    data = {**case, "status": to_status, "is_open": to_status in OPEN, "from_status": from_status,
            "to_status": to_status, "changed_at": at.isoformat()}
    assert await send(client_for, type_, data, at) == "applied"


async def summary(app: FastAPI, complaint_id: str) -> ComplaintSummary | None:
    async with app.state.sessions() as session:
        return await session.scalar(select(ComplaintSummary).where(ComplaintSummary.complaint_id == uuid.UUID(complaint_id)))


async def followup(app: FastAPI, followup_id: str) -> FollowUp:
    async with app.state.sessions() as session:
        return await session.scalar(select(FollowUp).where(FollowUp.id == uuid.UUID(followup_id)))


async def new_car_call(dealer, app: FastAPI, client_for: ClientFactory) -> tuple[dict, dict]:
    """A customer of DLR-0042 with the new-car follow-up their delivery made."""
    customer = await create(dealer)
    vin = vin_with_check_digit()
    await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
                                              "delivered_at": "2026-05-01T10:00:00Z"})
    await deliver(app, client_for, "vehicle.delivered", "vin", vin, times=1)
    [task] = await tasks(dealer, customer_id=customer["id"])
    return customer, task


class TestTheFollowUpLink:
    async def test_complaint_opened_naming_a_follow_up_links_the_call_to_the_case(self, dealer, app, client_for) -> None:
        customer, task = await new_car_call(dealer, app, client_for)
        before = await followup(app, task["id"])
        case = await opened(client_for, customer["id"], followup_id=task["id"])
        linked = await followup(app, task["id"])
        assert linked.complaint_id == uuid.UUID(case["complaint_id"])
        assert linked.updated_at > before.updated_at  # the follow-ups' delta feed carries the link
        assert (await summary(app, case["complaint_id"])).followup_id == uuid.UUID(task["id"])

    async def test_the_link_is_set_once_and_only_for_the_cases_dealer(self, dealer, app, client_for) -> None:
        customer, task = await new_car_call(dealer, app, client_for)
        await opened(client_for, customer["id"], dealer="DLR-0043", followup_id=task["id"])
        assert (await followup(app, task["id"])).complaint_id is None  # another dealer's case names no call of ours
        first = await opened(client_for, customer["id"], followup_id=task["id"])
        await opened(client_for, customer["id"], followup_id=task["id"])
        assert (await followup(app, task["id"])).complaint_id == uuid.UUID(first["complaint_id"])

    async def test_a_case_without_a_follow_up_links_nothing(self, dealer, app, client_for) -> None:
        customer, task = await new_car_call(dealer, app, client_for)
        case = await opened(client_for, customer["id"])
        assert (await followup(app, task["id"])).complaint_id is None
        assert (await summary(app, case["complaint_id"])).followup_id is None


class TestSummaries:
    async def test_each_event_updates_the_summary(self, dealer, app, client_for) -> None:
        customer = await create(dealer)
        case = await opened(client_for, customer["id"])
        row = await summary(app, case["complaint_id"])
        assert (row.status, row.is_open, row.priority, row.category, row.number) == (
            "new", True, "P3", "repair_quality", case["number"])
        await moved(client_for, case, "new", "acknowledged")
        await moved(client_for, {**case, "status": "acknowledged"}, "in_progress", "resolved", type_="complaint.resolved")
        row = await summary(app, case["complaint_id"])
        assert (row.status, row.is_open) == ("resolved", False)

    async def test_a_late_event_does_not_undo_a_newer_one(self, dealer, app, client_for) -> None:
        customer = await create(dealer)
        start = utcnow() - timedelta(hours=1)
        case = await opened(client_for, customer["id"], at=start, opened_at=start)
        await moved(client_for, case, "in_progress", "resolved", at=start + timedelta(minutes=30))
        # Retried after the resolution was applied: an acknowledgement from before it.
        await moved(client_for, case, "new", "acknowledged", at=start + timedelta(minutes=5))
        row = await summary(app, case["complaint_id"])
        assert (row.status, row.is_open) == ("resolved", False)
        assert row.changed_at == start + timedelta(minutes=30)

    async def test_an_opening_that_arrives_after_a_later_change_still_links_the_call(self, dealer, app, client_for) -> None:
        customer, task = await new_car_call(dealer, app, client_for)
        start = utcnow() - timedelta(hours=1)
        case = case_data(customer["id"], opened_at=start, followup_id=task["id"])
        await moved(client_for, case, "new", "acknowledged", at=start + timedelta(minutes=10))
        assert await send(client_for, "complaint.opened", case, start) == "applied"
        row = await summary(app, case["complaint_id"])
        assert (row.status, row.followup_id) == ("acknowledged", uuid.UUID(task["id"]))
        assert (await followup(app, task["id"])).complaint_id == uuid.UUID(case["complaint_id"])

    async def test_escalations_and_breaches_keep_the_status_they_report(self, dealer, app, client_for) -> None:
        customer = await create(dealer)
        case = await opened(client_for, customer["id"], status="new")
        now = utcnow()
        breached = {**case, "kind": "first_response", "due_at": now.isoformat(), "detected_at": now.isoformat()}
        assert await send(client_for, "complaint.sla_breached", breached) == "applied"
        escalated = {**case, "handling_org_code": "D-NORTH", "escalation_level": 1, "from_org_code": "DLR-0042",
                     "to_org_code": "D-NORTH", "reason": "SLA", "trigger": "sla_breach", "escalated_at": now.isoformat()}
        assert await send(client_for, "complaint.escalated", escalated) == "applied"
        row = await summary(app, case["complaint_id"])
        assert (row.status, row.is_open) == ("new", True)
