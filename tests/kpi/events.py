"""Events as the source services publish them, for tests that deliver whole relay batches."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import new_event
from tests.kpi.conftest import ORGS



def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return new_event("/csloop/test", type_, None, data).model_dump(mode="json")


def _survey(dealer: str) -> dict[str, Any]:
    return {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "survey_id": str(uuid.uuid4()),
            "survey_code": "CSI", "survey_version": 1, "kind": "csi"}


def response(dealer: str, at: datetime, index: float, nps: str, *, invited: bool = True,
              response_id: str | None = None) -> dict[str, Any]:
    return _event("survey.response.submitted", {
        **_survey(dealer), "response_id": response_id or str(uuid.uuid4()),
        "invitation_id": str(uuid.uuid4()) if invited else None, "submitted_at": at.isoformat(),
        "scores": {"index": index, "factors": {"quality": index - 5, "facility": index + 5}, "nps_category": nps}})


def _vin(at: datetime) -> str:
    """A VIN per year: the years compared must not retain each other's vehicles."""
    return f"LFV3A23C7K30{at.year:05d}"


def _visit(dealer: str, visit_id: str, closed: datetime, symptoms: list[str]) -> dict[str, Any]:
    return _event("service_visit.closed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "visit_id": visit_id, "ro_number": "RO-9", "vin": _vin(closed),
        "customer_id": str(uuid.uuid4()), "visit_type": "repair", "opened_at": (closed - timedelta(hours=2)).isoformat(),
        "closed_at": closed.isoformat(), "symptom_codes": symptoms, "owner_verified": True})


def _case_events(dealer: str, opened: datetime, response_id: str) -> list[dict[str, Any]]:
    """An alert, its case opened, acknowledged and resolved: a status change needs its opened case first."""
    case = {"complaint_id": str(uuid.uuid4()), "number": "CMP-9", "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
            "handling_org_code": dealer, "escalation_level": 0, "channel": "survey_alert", "category": "repair_quality",
            "priority": "P2", "status": "new", "is_open": True, "opened_at": opened.isoformat(),
            "first_responded_at": None, "resolved_at": None, "survey_response_id": response_id,
            "first_response_due": (opened + timedelta(hours=4)).isoformat(),
            "resolution_due": (opened + timedelta(hours=48)).isoformat()}
    acknowledged, resolved = opened + timedelta(hours=1), opened + timedelta(hours=9)
    return [
        _event("survey.alert.raised", {**_survey(dealer), "response_id": response_id, "submitted_at": opened.isoformat(),
                                       "reasons": [], "priority": "P2", "scores": {}}),
        _event("complaint.opened", case),
        _event("complaint.status_changed", {**case, "status": "acknowledged", "from_status": "new",
                                            "to_status": "acknowledged", "first_responded_at": acknowledged.isoformat(),
                                            "changed_at": acknowledged.isoformat()}),
        _event("complaint.status_changed", {**case, "status": "resolved", "is_open": False, "from_status": "acknowledged",
                                            "to_status": "resolved", "first_responded_at": acknowledged.isoformat(),
                                            "resolved_at": resolved.isoformat(), "changed_at": resolved.isoformat()}),
    ]


def _followup_events(dealer: str, due: datetime) -> list[dict[str, Any]]:
    common = {"followup_id": str(uuid.uuid4()), "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "kind": "service"}
    other = {**common, "followup_id": str(uuid.uuid4()), "kind": "recall"}
    return [_event("followup.scheduled", {**common, "due_at": due.isoformat()}),
            _event("followup.assigned", {**common, "due_at": due.isoformat(), "assignee": "CR01",
                                         "assigned_at": (due - timedelta(days=1)).isoformat()}),
            _event("followup.completed", {**common, "outcome": "reached", "completed_at": (due - timedelta(hours=1)).isoformat(),
                                          "reached": True, "satisfaction": "dissatisfied", "assignee": "CR01"}),
            _event("followup.scheduled", {**other, "due_at": due.isoformat()}),
            _event("followup.unreachable", {**other, "due_at": due.isoformat(), "attempts": 3,
                                            "unreachable_at": (due - timedelta(hours=2)).isoformat()})]


def _appointment_events(dealer: str, at: datetime) -> list[dict[str, Any]]:
    """Booked, then arrived; the booking delivered again after the arrival (a late event)."""
    booked = {"appointment_id": str(uuid.uuid4()), "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
              "customer_id": str(uuid.uuid4()), "status": "booked", "requested_at": at.isoformat(),
              "slot_at": (at + timedelta(days=2)).isoformat(), "booked_at": at.isoformat(), "changed_at": at.isoformat()}
    arrived = {**booked, "status": "arrived", "changed_at": (at + timedelta(days=2)).isoformat()}
    return [_event("appointment.changed", booked), _event("appointment.changed", arrived),
            _event("appointment.changed", booked)]


def every_kind(year: int) -> list[dict[str, Any]]:
    """A little of every event the KPI service consumes, interleaved as a relay may deliver them. Years
    compared lie more than 11 years apart: retention and penetration look back that far."""
    at = datetime(year, 3, 10, 9, tzinfo=UTC)
    repeated = response("D1", at, 90.0, "promoter")
    visit_id = str(uuid.uuid4())
    events = [
        response("D1", at, 80.0, "promoter"), repeated,
        _event("survey.invitation.sent", {**_survey("D1"), "invitation_id": str(uuid.uuid4()), "channel": "sms",
                                          "url": "https://s.example/x", "sent_at": at.isoformat(),
                                          "expires_at": (at + timedelta(days=14)).isoformat()}),
        _visit("D1", visit_id, at, ["S1"]),
        *_case_events("D2", at, repeated["data"]["response_id"]),
        response("D2", at, 50.0, "detractor", invited=False),
        _event("vehicle.delivered", {"dealer_code": "D3", "org_path": ORGS["D3"]["path"], "delivery_id": str(uuid.uuid4()),
                                     "vin": _vin(at), "customer_id": str(uuid.uuid4()), "delivered_at": at.isoformat()}),
        *_followup_events("D3", at),
        *_appointment_events("D2", at),
        _visit("D1", visit_id, at, ["S2", "S3"]),  # the visit corrected: the last word wins
        _visit("D1", str(uuid.uuid4()), at + timedelta(days=5), ["S2"]),  # a repeat: the fix failed
        response("D3", at, 70.0, "passive"),
    ]
    # The same response published again under a new event id, and one event delivered twice.
    return [*events, {**repeated, "id": str(uuid.uuid4())}, events[0]]
