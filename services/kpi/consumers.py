"""The events the KPI service consumes, each turned into facts and rollup increments.

A rebuild feeds the source services' records through the same recorders (the internal facts
endpoints answer in the event payloads' shape), so incremental and rebuilt figures agree.

- survey.response.submitted -> response fact; responses, nps, csi/ssi rollups; factor sums
- survey.invitation.sent -> invitation fact and rollup (reminders are not new invitations)
- survey.alert.raised -> alert fact (closed when its case resolves within SLA)
- service_visit.closed, vehicle.delivered -> visit and delivery facts (FIR, retention, penetration)
- followup.scheduled, followup.completed -> follow-up fact (due time, completion time)
- complaint.opened / status_changed / resolved / closed / sla_breached -> complaint fact
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.repository_facts import FactStore, ResponseRecord
from shared.consumer import EventHandler
from shared.contracts import complaint as complaint_contract
from shared.contracts import customer as customer_contract
from shared.contracts import survey as survey_contract
from shared.events import CloudEvent

Recorder = Callable[[FactStore, dict[str, Any]], Awaitable[None]]
FOLLOWUP_SCHEDULED = customer_contract.FOLLOWUP_SCHEDULED


class FollowUpScheduled(customer_contract.FollowUpScheduled):
    """followup.scheduled, or a rebuild's follow-up record, which also knows its completion."""

    completed_at: datetime | None = None


class ComplaintToday(BaseModel):
    """What a rebuild's complaint record adds to the opened payload: the SLA targets the case missed."""

    model_config = ConfigDict(extra="ignore")

    breached_kinds: list[str] = []


async def record_response(store: FactStore, data: dict[str, Any]) -> None:
    r = survey_contract.ResponseSubmitted.model_validate(data)
    await store.add_response(ResponseRecord(r.response_id, r.org_path, r.kind, r.submitted_at, r.scores.index,
                                            r.scores.nps_category, dict(r.scores.factors),
                                            invited=r.invitation_id is not None))


async def record_invitation(store: FactStore, data: dict[str, Any]) -> None:
    i = survey_contract.InvitationSent.model_validate(data)
    await store.add_invitation(i.invitation_id, i.org_path, i.sent_at)


async def record_alert(store: FactStore, data: dict[str, Any]) -> None:
    a = survey_contract.AlertRaised.model_validate(data)
    await store.add_alert(a.response_id, a.org_path, a.submitted_at)


async def record_visit(store: FactStore, data: dict[str, Any]) -> None:
    v = customer_contract.ServiceVisitClosed.model_validate(data)
    await store.put_visit({"visit_id": v.visit_id, "org_path": v.org_path, "vin": v.vin, "visit_type": v.visit_type,
                           "opened_at": v.opened_at or v.closed_at, "closed_at": v.closed_at,
                           "symptom_codes": sorted(set(v.symptom_codes)), "owner_verified": v.owner_verified})


async def record_delivery(store: FactStore, data: dict[str, Any]) -> None:
    d = customer_contract.VehicleDelivered.model_validate(data)
    await store.add_delivery({"delivery_id": d.delivery_id, "org_path": d.org_path, "vin": d.vin,
                              "delivered_at": d.delivered_at})


async def record_followup_scheduled(store: FactStore, data: dict[str, Any]) -> None:
    f = FollowUpScheduled.model_validate(data)
    values = {"followup_id": f.followup_id, "org_path": f.org_path, "due_at": f.due_at}
    # A completion met first (or a rebuild's record) is kept, never reset by a late schedule.
    await store.put_followup(values | ({"completed_at": f.completed_at} if f.completed_at else {}))


async def record_followup_completed(store: FactStore, data: dict[str, Any]) -> None:
    f = customer_contract.FollowUpCompleted.model_validate(data)
    await store.put_followup({"followup_id": f.followup_id, "org_path": f.org_path, "completed_at": f.completed_at})


async def record_complaint_opened(store: FactStore, data: dict[str, Any]) -> None:
    c = complaint_contract.ComplaintOpened.model_validate(data)
    today = ComplaintToday.model_validate(data)  # empty for an opened event
    breached = set(today.breached_kinds)
    await store.put_complaint({
        "complaint_id": c.complaint_id, "org_path": c.org_path, "category": c.category, "status": c.status,
        "is_open": c.is_open, "survey_response_id": c.survey_response_id, "opened_at": c.opened_at,
        "first_response_due": c.first_response_due, "resolution_due": c.resolution_due,
        "first_responded_at": c.first_responded_at, "resolved_at": c.resolved_at,
        "breached_first_response": "first_response" in breached, "breached_resolution": "resolution" in breached})


async def record_status_changed(store: FactStore, data: dict[str, Any]) -> None:
    c = complaint_contract.StatusChanged.model_validate(data)
    # Due times move while a case waits on the customer; each change carries the current ones.
    dues = {key: value for key, value in (("first_response_due", c.first_response_due),
                                          ("resolution_due", c.resolution_due)) if value is not None}
    await store.update_complaint(c.complaint_id, {"status": c.status, "is_open": c.is_open,
                                                  "resolved_at": c.resolved_at, **dues})
    if c.first_responded_at is not None:
        await store.first_response(c.complaint_id, c.first_responded_at)


async def record_sla_breached(store: FactStore, data: dict[str, Any]) -> None:
    """The breach job knows the paused time: its due time replaces the one known at opening."""
    b = complaint_contract.SlaBreached.model_validate(data)
    if b.kind == "first_response":
        await store.update_complaint(b.complaint_id, {"breached_first_response": True, "first_response_due": b.due_at})
    else:
        await store.update_complaint(b.complaint_id, {"breached_resolution": True, "resolution_due": b.due_at})


RECORDERS: dict[str, Recorder] = {
    survey_contract.RESPONSE_SUBMITTED: record_response,
    survey_contract.INVITATION_SENT: record_invitation,
    survey_contract.ALERT_RAISED: record_alert,
    customer_contract.SERVICE_VISIT_CLOSED: record_visit,
    customer_contract.VEHICLE_DELIVERED: record_delivery,
    FOLLOWUP_SCHEDULED: record_followup_scheduled,
    customer_contract.FOLLOWUP_COMPLETED: record_followup_completed,
    complaint_contract.OPENED: record_complaint_opened,
    complaint_contract.STATUS_CHANGED: record_status_changed,
    complaint_contract.SLA_BREACHED: record_sla_breached,
}


def event_handlers() -> dict[str, EventHandler]:
    def handler(record: Recorder) -> EventHandler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            await record(FactStore(session), event.data)
        return handle

    return {type_: handler(record) for type_, record in RECORDERS.items()}
