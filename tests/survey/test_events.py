"""Consumed events: invitations scheduled exactly once, sent by the job when due, one reminder, erasure."""

import uuid
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from services.survey.jobs import run_once
from shared.contracts import complaint as complaint_contract
from shared.db import utcnow
from tests.survey.conftest import ORGS, as_, deliver, give_consent, outbox_events, token_of


def _visit(customer_id: uuid.UUID, closed_at: datetime, visit_id: uuid.UUID | None = None) -> dict:
    return {"dealer_code": "D1", "org_path": ORGS["D1"]["path"], "visit_id": str(visit_id or uuid.uuid4()),
            "ro_number": "RO-77", "vin": "LFV3A23C7K3012345", "customer_id": str(customer_id),
            "visit_type": "repair", "closed_at": closed_at.isoformat()}


async def _invitations(client: httpx.AsyncClient, customer_id: uuid.UUID, caller: str = "D1") -> list[dict]:
    answer = await client.get("/v1/survey-invitations", params={"customer_id": str(customer_id)}, headers=as_(caller))
    return answer.json()["items"]


class TestScheduling:
    async def test_closed_visit_schedules_one_csi_invitation_three_days_later(self, client: httpx.AsyncClient) -> None:
        customer_id, visit_id, closed = uuid.uuid4(), uuid.uuid4(), utcnow()
        event_id = str(uuid.uuid4())
        assert await deliver(client, "service_visit.closed", _visit(customer_id, closed, visit_id), event_id=event_id) == "applied"
        assert await deliver(client, "service_visit.closed", _visit(customer_id, closed, visit_id), event_id=event_id) == "duplicate"
        # The same fact published again under a new event id schedules nothing more.
        assert await deliver(client, "service_visit.closed", _visit(customer_id, closed, visit_id)) == "applied"
        invitations = await _invitations(client, customer_id)
        assert len(invitations) == 1
        assert invitations[0]["kind"] == "csi" and invitations[0]["status"] == "scheduled"
        assert invitations[0]["context"] == {"ro_number": "RO-77", "vin": "LFV3A23C7K3012345"}
        assert invitations[0]["url"] is None
        due = datetime.fromisoformat(invitations[0]["due_at"])
        assert abs(due - (closed + timedelta(days=3))) < timedelta(seconds=1)

    async def test_delivery_schedules_ssi_and_resolved_complaint_a_resolution_survey(
            self, client: httpx.AsyncClient) -> None:
        customer_id = uuid.uuid4()
        await deliver(client, "vehicle.delivered", {
            "dealer_code": "D1", "org_path": ORGS["D1"]["path"], "delivery_id": str(uuid.uuid4()),
            "vin": "LFV3A23C7K3012345", "customer_id": str(customer_id), "delivered_at": utcnow().isoformat()})
        resolved = complaint_contract.Resolved(
            complaint_id=uuid.uuid4(), number="CMP-D1-1", dealer_code="D1", org_path=ORGS["D1"]["path"],
            handling_org_code="D1", escalation_level=0, customer_id=customer_id, channel="hotline",
            category="repair_quality", priority="P3", status="resolved", is_open=False,
            opened_at=utcnow() - timedelta(days=1), resolved_at=utcnow())
        await deliver(client, complaint_contract.RESOLVED, resolved.model_dump(mode="json"), source=complaint_contract.SOURCE)
        kinds = sorted(invitation["kind"] for invitation in await _invitations(client, customer_id))
        assert kinds == ["custom", "ssi"]

    async def test_a_back_filled_old_visit_schedules_no_invitation(self, client: httpx.AsyncClient) -> None:
        customer_id = uuid.uuid4()
        assert await deliver(client, "service_visit.closed", _visit(customer_id, utcnow() - timedelta(days=60))) == "applied"
        assert await _invitations(client, customer_id) == []


class TestJob:
    async def test_due_invitation_is_sent_once_then_reminded_once(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        closed = utcnow() - timedelta(days=10)
        await deliver(client, "service_visit.closed", _visit(customer_id, closed))
        settings = app.state.settings
        await run_once(app.state.sessions, settings, now=closed + timedelta(days=2))
        assert (await _invitations(client, customer_id))[0]["status"] == "scheduled"

        send_time = closed + timedelta(days=3, minutes=1)
        await run_once(app.state.sessions, settings, now=send_time)
        await run_once(app.state.sessions, settings, now=send_time)
        # The standard CSI is the manufacturer's: it reads the link its SMS provider sends.
        invitation = (await _invitations(client, customer_id, "OEM"))[0]
        assert invitation["status"] == "sent" and invitation["url"].startswith("https://csloop.example/s/")
        sent = [e for e in await outbox_events(app, "survey.invitation.sent") if e["invitation_id"] == invitation["id"]]
        assert len(sent) == 1 and sent[0]["kind"] == "csi" and sent[0]["ro_number"] == "RO-77"

        for days in (5, 6, 7):
            await run_once(app.state.sessions, settings, now=send_time + timedelta(days=days))
        reminders = [e for e in await outbox_events(app, "survey.invitation.reminded")
                     if e["invitation_id"] == invitation["id"]]
        assert len(reminders) == 1

    async def test_due_invitation_without_consent_is_cancelled_with_the_reason(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        customer_id = uuid.uuid4()  # no customer event: no consent on record
        closed = utcnow() - timedelta(days=5)
        await deliver(client, "service_visit.closed", _visit(customer_id, closed))
        await run_once(app.state.sessions, app.state.settings, now=utcnow())
        invitation = (await _invitations(client, customer_id))[0]
        assert invitation["status"] == "cancelled" and invitation["status_reason"] == "no_consent"

    async def test_second_due_invitation_within_30_days_is_cancelled_for_fatigue(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        await deliver(client, "service_visit.closed", _visit(customer_id, utcnow() - timedelta(days=5)))
        await deliver(client, "service_visit.closed", _visit(customer_id, utcnow() - timedelta(days=4)))
        await run_once(app.state.sessions, app.state.settings, now=utcnow())
        statuses = sorted((i["status"], i["status_reason"]) for i in await _invitations(client, customer_id))
        assert statuses == [("cancelled", "fatigue"), ("sent", None)]


class TestErasure:
    async def test_erased_customer_is_unlinked_and_never_invited_again(self, client: httpx.AsyncClient) -> None:
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        survey = await client.post("/v1/surveys", json={"template": "nps", "code": "e" + uuid.uuid4().hex[:8]},
                                   headers=as_("OEM"))
        await client.post(f"/v1/surveys/{survey.json()['id']}/publish", headers=as_("OEM"))
        body = {"survey_id": survey.json()["id"], "customer_id": str(customer_id), "dealer_code": "D1", "channel": "app"}
        token = await token_of(client, await client.post("/v1/survey-invitations", json=body, headers=as_("D1")))
        answered = await client.post(f"/v1/public/surveys/{token}/responses",
                                     json={"answers": {"nps": 3, "nps_reason": "my name is Li Lei"}})
        await deliver(client, "customer.erased", {"dealer_code": "D1", "org_path": ORGS["D1"]["path"],
                                                  "customer_id": str(customer_id), "erased_at": utcnow().isoformat()})
        stored = await client.get(f"/v1/survey-responses/{answered.json()['id']}", headers=as_("D1"))
        assert stored.json()["customer_id"] is None and stored.json()["answers"]["nps_reason"] == ""
        assert stored.json()["scores"]["nps_category"] == "detractor"
        await give_consent(client, customer_id, type_="customer.updated")  # a late update cannot revive consent
        again = await client.post("/v1/survey-invitations", json={**body, "consent_confirmed": True}, headers=as_("D1"))
        assert again.status_code == 409 and again.json()["reason"] == "customer_erased"
