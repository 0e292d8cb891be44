"""The events the KPI service consumes, each turned into facts and rollup increments.

A rebuild feeds the source services' records through the same recorders (the internal facts
endpoints answer in the event payloads' shape), so incremental and rebuilt figures agree.

A relay's batch is applied together (`apply_events`): the events of each type recorded
set-based (`SET_RECORDERS`: facts stored once per record, and visits, where the last word
wins) with one call for all of them, the others one by one in delivery order. Each record
kind has a table of its own that no other event type writes (but for a response's integrity
changes, which come out the same in any order: FactStore.change_integrity), and rollup increments
add up in any order, so grouping by type leaves the effect of applying the events one by one.

- survey.response.submitted -> response fact (with the staff who served the customer and its integrity); responses,
  nps, csi/ssi rollups and factor sums when it counts (clean or reviewed valid), else the `excluded_*` counts;
  the integrity flag rate
- survey.response.flagged / reviewed -> the response's integrity; its rollups taken back or added when that changes
- survey.invitation.sent -> invitation fact and rollup (reminders are not new invitations)
- survey.alert.raised -> alert fact (closed when its case resolves within SLA)
- service_visit.closed, vehicle.delivered -> visit (with its advisor and technician) and delivery facts (FIR,
  retention, penetration)
- followup.scheduled / assigned / completed / unreachable / cancelled -> follow-up fact (kind, due time, how and
  when it ended, the call's result, the assignee)
- appointment.changed -> appointment fact (its latest change wins)
- staff.changed -> the dealer's staff member, names and roles for the people figures (highest version wins)
- lifecycle.changed -> lifecycle change fact (lapsed_rate: each customer's latest change before the period's end)
- complaint.opened / status_changed / resolved / closed / sla_breached -> complaint fact
- recall.vin_assigned / recall.completed -> recall VIN fact (recall_completion)
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.repository_facts import FactStore, IntegrityChange, InvitationRecord, ResponseRecord
from shared.consumer import EventHandler
from shared.contracts import complaint as complaint_contract
from shared.contracts import customer as customer_contract
from shared.contracts import survey as survey_contract
from shared.events import CloudEvent

Payload = TypeVar("Payload", bound=BaseModel)
Recorder = Callable[[FactStore, dict[str, Any]], Awaitable[None]]
SetRecorder = Callable[[FactStore, list[dict[str, Any]]], Awaitable[None]]
FOLLOWUP_SCHEDULED = customer_contract.FOLLOWUP_SCHEDULED


class FollowUpScheduled(customer_contract.FollowUpScheduled):
    """followup.scheduled, or a rebuild's follow-up record, which also knows how it ended (the
    customer service's `/internal/facts/followups`)."""

    completed_at: datetime | None = None
    status: customer_contract.FollowUpStatus | None = None
    reached: bool | None = None
    satisfaction: customer_contract.Satisfaction | None = None
    unreachable_at: datetime | None = None
    assignee: str | None = None


class ComplaintToday(BaseModel):
    """What a rebuild's complaint record adds to the opened payload: the SLA targets the case missed."""

    model_config = ConfigDict(extra="ignore")

    breached_kinds: list[str] = []


def _all(contract: type[Payload]) -> Callable[[list[dict[str, Any]]], list[Payload]]:
    """Validates a list of payloads in one call (the per-call cost, not the per-item one, is what a
    relay's batch of 200 would pay 200 times)."""
    return TypeAdapter(list[contract]).validate_python  # type: ignore[valid-type]


RESPONSES = _all(survey_contract.ResponseSubmitted)
INVITATIONS = _all(survey_contract.InvitationSent)
ALERTS = _all(survey_contract.AlertRaised)
VISITS = _all(customer_contract.ServiceVisitClosed)
DELIVERIES = _all(customer_contract.VehicleDelivered)
APPOINTMENTS = _all(customer_contract.AppointmentChanged)
LIFECYCLE_CHANGES = _all(customer_contract.LifecycleChanged)
STAFF = _all(customer_contract.StaffChanged)


async def record_responses(store: FactStore, items: list[dict[str, Any]]) -> None:
    nobody = survey_contract.StaffOnRecord()
    await store.add_responses([ResponseRecord(r.response_id, r.org_path, r.kind, r.submitted_at, r.scores.index,
                                              r.scores.nps_category, dict(r.scores.factors),
                                              invited=r.invitation_id is not None, advisor=staff.advisor,
                                              technician=staff.technician, sales_consultant=staff.sales_consultant,
                                              integrity=r.integrity)
                               for r in RESPONSES(items) for staff in (r.staff or nobody,)])


async def record_integrity_change(store: FactStore, data: dict[str, Any]) -> None:
    c = survey_contract.ResponseIntegrityChanged.model_validate(data)
    await store.change_integrity(IntegrityChange(c.response_id, c.org_path, c.kind, c.submitted_at, c.integrity,
                                                 c.reviewed_at))


async def record_invitations(store: FactStore, items: list[dict[str, Any]]) -> None:
    await store.add_invitations([InvitationRecord(i.invitation_id, i.org_path, i.sent_at) for i in INVITATIONS(items)])


async def record_alerts(store: FactStore, items: list[dict[str, Any]]) -> None:
    await store.add_alerts([{"response_id": a.response_id, "org_path": a.org_path, "raised_at": a.submitted_at}
                            for a in ALERTS(items)])


async def record_visits(store: FactStore, items: list[dict[str, Any]]) -> None:
    visits = VISITS(items)
    await store.put_visits([{"visit_id": v.visit_id, "org_path": v.org_path, "vin": v.vin, "visit_type": v.visit_type,
                             "opened_at": v.opened_at or v.closed_at, "closed_at": v.closed_at,
                             "symptom_codes": sorted(set(v.symptom_codes)), "owner_verified": v.owner_verified,
                             "opened_reported": v.opened_at is not None, "advisor": v.advisor,
                             "technician": v.technician, "repeat_cause": v.repeat_cause}
                            for v in visits])


async def record_deliveries(store: FactStore, items: list[dict[str, Any]]) -> None:
    deliveries = DELIVERIES(items)
    await store.add_deliveries([{"delivery_id": d.delivery_id, "org_path": d.org_path, "vin": d.vin,
                                 "delivered_at": d.delivered_at} for d in deliveries])


async def record_staff(store: FactStore, items: list[dict[str, Any]]) -> None:
    await store.put_staff([{"org_path": m.org_path, "code": m.code, "name": m.name, "role": m.role,
                            "active": m.active, "version": m.version} for m in STAFF(items)])


async def record_followup_scheduled(store: FactStore, data: dict[str, Any]) -> None:
    f = FollowUpScheduled.model_validate(data)
    values = {"followup_id": f.followup_id, "org_path": f.org_path, "due_at": f.due_at, "kind": f.kind}
    # An end met first is kept, never reset by a late schedule; a rebuild's record brings its own.
    ended = {"completed_at": f.completed_at, "status": f.status, "reached": f.reached, "satisfaction": f.satisfaction,
             "unreachable_at": f.unreachable_at, "assignee": f.assignee}
    await store.put_followup(values | {name: value for name, value in ended.items() if value is not None})


async def record_followup_completed(store: FactStore, data: dict[str, Any]) -> None:
    """Done by a reached (or, rarely, an unreached) call with its result, or by the legacy `/complete`,
    whose payload says nothing of a call: reached (the contract's default), KPI.md."""
    f = customer_contract.FollowUpCompleted.model_validate(data)
    await store.close_followup({
        "followup_id": f.followup_id, "org_path": f.org_path, "kind": f.kind, "status": "done",
        "completed_at": f.completed_at, "reached": f.reached, "satisfaction": f.satisfaction, "due_at": f.due_at,
        "assignee": f.assignee, "assigned_at": f.completed_at if f.assignee else None})


async def record_followup_unreachable(store: FactStore, data: dict[str, Any]) -> None:
    f = customer_contract.FollowUpUnreachable.model_validate(data)
    await store.close_followup({
        "followup_id": f.followup_id, "org_path": f.org_path, "kind": f.kind, "status": "unreachable",
        "unreachable_at": f.unreachable_at, "reached": False, "due_at": f.due_at,
        "assignee": f.assignee, "assigned_at": f.unreachable_at if f.assignee else None})


async def record_followup_cancelled(store: FactStore, data: dict[str, Any]) -> None:
    f = customer_contract.FollowUpCancelled.model_validate(data)
    await store.close_followup({"followup_id": f.followup_id, "org_path": f.org_path, "kind": f.kind,
                                "status": "cancelled", "due_at": f.due_at})


async def record_followup_assigned(store: FactStore, data: dict[str, Any]) -> None:
    f = customer_contract.FollowUpAssigned.model_validate(data)
    await store.assign_followup({"followup_id": f.followup_id, "org_path": f.org_path, "kind": f.kind,
                                 "due_at": f.due_at, "assignee": f.assignee, "assigned_at": f.assigned_at})


async def record_appointments(store: FactStore, items: list[dict[str, Any]]) -> None:
    await store.put_appointments([{"appointment_id": a.appointment_id, "org_path": a.org_path, "status": a.status,
                                   "requested_at": a.requested_at, "slot_at": a.slot_at, "booked_at": a.booked_at,
                                   "changed_at": a.changed_at, "advisor": a.advisor} for a in APPOINTMENTS(items)])


async def record_lifecycle_changes(store: FactStore, items: list[dict[str, Any]]) -> None:
    await store.put_lifecycle_changes([{"customer_id": c.customer_id, "changed_at": c.changed_at, "org_path": c.org_path,
                                        "lifecycle": c.lifecycle} for c in LIFECYCLE_CHANGES(items)])


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


async def record_recall_vins(store: FactStore, data: dict[str, Any]) -> None:
    a = complaint_contract.RecallVinAssigned.model_validate(data)
    await store.put_recall_vins([{"recall_code": a.recall_code, "vin": vin, "org_path": a.org_path,
                                  "assigned_at": a.assigned_at} for vin in a.vins])


async def record_recall_completed(store: FactStore, data: dict[str, Any]) -> None:
    c = complaint_contract.RecallCompleted.model_validate(data)
    await store.complete_recall_vin({"recall_code": c.recall_code, "vin": c.vin, "org_path": c.org_path,
                                     "completed_at": c.completed_at})


SET_RECORDERS: dict[str, SetRecorder] = {
    survey_contract.RESPONSE_SUBMITTED: record_responses,
    survey_contract.INVITATION_SENT: record_invitations,
    survey_contract.ALERT_RAISED: record_alerts,
    customer_contract.SERVICE_VISIT_CLOSED: record_visits,
    customer_contract.VEHICLE_DELIVERED: record_deliveries,
    customer_contract.APPOINTMENT_CHANGED: record_appointments,
    customer_contract.LIFECYCLE_CHANGED: record_lifecycle_changes,
    customer_contract.STAFF_CHANGED: record_staff,
}
# Each event's effect depends on the ones before it (a status change needs its opened case).
IN_ORDER_RECORDERS: dict[str, Recorder] = {
    survey_contract.RESPONSE_FLAGGED: record_integrity_change,
    survey_contract.RESPONSE_REVIEWED: record_integrity_change,
    FOLLOWUP_SCHEDULED: record_followup_scheduled,
    customer_contract.FOLLOWUP_COMPLETED: record_followup_completed,
    customer_contract.FOLLOWUP_UNREACHABLE: record_followup_unreachable,
    customer_contract.FOLLOWUP_CANCELLED: record_followup_cancelled,
    customer_contract.FOLLOWUP_ASSIGNED: record_followup_assigned,
    complaint_contract.OPENED: record_complaint_opened,
    complaint_contract.STATUS_CHANGED: record_status_changed,
    complaint_contract.SLA_BREACHED: record_sla_breached,
    # A VIN moves between dealers in the order of its assignments.
    complaint_contract.RECALL_VIN_ASSIGNED: record_recall_vins,
    complaint_contract.RECALL_COMPLETED: record_recall_completed,
}
EVENT_TYPES = (*SET_RECORDERS, *IN_ORDER_RECORDERS)


async def record(store: FactStore, type_: str, items: list[dict[str, Any]]) -> None:
    """Record the payloads of events of one type (or a rebuild's records of one kind), in their order."""
    if type_ in SET_RECORDERS:
        await SET_RECORDERS[type_](store, items)
        return
    for item in items:
        await IN_ORDER_RECORDERS[type_](store, item)


async def apply_events(session: AsyncSession, events: list[CloudEvent]) -> None:
    """New events of a relay's batch, in delivery order, in the consumer's transaction (see the module's doc)."""
    store = FactStore(session)
    by_type: dict[str, list[dict[str, Any]]] = {}
    in_order: list[CloudEvent] = []
    for event in events:
        if event.type in SET_RECORDERS:
            by_type.setdefault(event.type, []).append(event.data)
        else:
            in_order.append(event)
    for type_, items in by_type.items():
        await SET_RECORDERS[type_](store, items)
    for event in in_order:
        await IN_ORDER_RECORDERS[event.type](store, event.data)
    await store.flush()


def event_handlers() -> dict[str, EventHandler]:
    """One event at a time: a single delivery, or a batch's events when the batch failed together."""
    def handler(type_: str) -> EventHandler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            store = FactStore(session)
            await record(store, type_, [event.data])
            await store.flush()
        return handle

    return {type_: handler(type_) for type_ in EVENT_TYPES}
