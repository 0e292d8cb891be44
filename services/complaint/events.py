"""What the complaint service publishes: the CloudEvents its use cases hand to `repo.publish`,
which records them in the outbox in the caller's transaction."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.complaint import domain
from services.complaint.models import Bulletin, Complaint, QualitySignal, Recall, RecallVin, TechRequest
from shared.contracts import complaint as contract
from shared.events import CloudEvent, new_event


def _event(type_: str, subject: str, payload: BaseModel) -> CloudEvent:
    return new_event(contract.SOURCE, type_, subject, payload.model_dump(mode="json"))


def common(case: Complaint) -> dict[str, Any]:
    return {
        "complaint_id": case.id, "number": case.number, "dealer_code": case.dealer_code, "org_path": case.org_path,
        "handling_org_code": case.handling_org_code, "escalation_level": case.escalation_level,
        "customer_id": case.customer_id, "vin": case.vin, "channel": case.channel, "category": case.category,
        "priority": case.priority, "status": case.status, "is_open": case.status in domain.OPEN_STATES,
        "opened_at": case.opened_at, "first_responded_at": case.first_responded_at,
        "resolved_at": case.resolved_at, "reopen_count": case.reopen_count,
        "first_response_due": case.first_response_due, "resolution_due": case.resolution_due,
    }


def _root_cause(case: Complaint) -> dict[str, Any] | None:
    return (case.resolution or {}).get("root_cause")


def opened(case: Complaint) -> CloudEvent:
    payload = contract.ComplaintOpened(ro_number=case.ro_number, survey_response_id=case.survey_response_id,
                                       followup_id=case.followup_id, **common(case))
    return _event(contract.OPENED, f"complaints/{case.id}", payload)


def status_changed(case: Complaint, from_status: str, at: datetime) -> list[CloudEvent]:
    """complaint.status_changed, followed by complaint.resolved or complaint.closed when it is one of those."""
    payload = contract.StatusChanged(from_status=from_status, to_status=case.status, changed_at=at, **common(case))
    changed = [_event(contract.STATUS_CHANGED, f"complaints/{case.id}", payload)]
    if case.status == "resolved":
        resolution = case.resolution or {}
        changed.append(_event(contract.RESOLVED, f"complaints/{case.id}", contract.Resolved(
            root_cause=_root_cause(case), actions=resolution.get("actions", []),
            compensation_minor=resolution.get("compensation_minor"), **common(case))))
    elif case.status == "closed":
        assert case.closed_at is not None
        changed.append(_event(contract.CLOSED, f"complaints/{case.id}", contract.Closed(
            closed_at=case.closed_at, customer_agrees=(case.resolution or {}).get("customer_agrees"),
            root_cause=_root_cause(case), **common(case))))
    return changed


def escalated(case: Complaint, from_org_code: str, reason: str, trigger: str, at: datetime) -> CloudEvent:
    payload = contract.Escalated(from_org_code=from_org_code, to_org_code=case.handling_org_code, reason=reason,
                                 trigger=trigger, escalated_at=at, **common(case))  # type: ignore[arg-type]
    return _event(contract.ESCALATED, f"complaints/{case.id}", payload)


def sla_breached(case: Complaint, kind: str, due_at: datetime, at: datetime) -> CloudEvent:
    payload = contract.SlaBreached(kind=kind, due_at=due_at, detected_at=at, **common(case))  # type: ignore[arg-type]
    return _event(contract.SLA_BREACHED, f"complaints/{case.id}", payload)


def quality_signal_raised(signal: QualitySignal) -> CloudEvent:
    payload = contract.QualitySignalRaised(
        signal_id=signal.id, org_path=signal.org_path, vehicle_model=signal.vehicle_model,
        symptom_code=signal.symptom_code, window_start=signal.window_start, case_count=signal.case_count,
        dealer_codes=signal.dealer_codes, complaint_ids=signal.complaint_ids,  # type: ignore[arg-type]
        sources=[contract.SignalSource.model_validate(source) for source in signal.sources])
    return _event(contract.QUALITY_SIGNAL_RAISED, f"quality-signals/{signal.id}", payload)


# --- technical requests ----------------------------------------------------------------------

def _tech_common(request: TechRequest) -> dict[str, Any]:
    return {
        "tech_request_id": request.id, "number": request.number, "dealer_code": request.dealer_code,
        "org_path": request.org_path, "handling_org_code": request.handling_org_code,
        "escalation_level": request.escalation_level, "vin": request.vin, "symptom_codes": request.symptom_codes,
        "priority": request.priority, "status": request.status, "opened_at": request.opened_at,
        "answer_due": request.answer_due, "answered_at": request.answered_at, "closed_at": request.closed_at,
    }


def tech_request_opened(request: TechRequest) -> CloudEvent:
    payload = contract.TechRequestOpened(description=request.description, **_tech_common(request))
    return _event(contract.TECH_REQUEST_OPENED, f"tech-requests/{request.id}", payload)


def tech_request_answered(request: TechRequest, answer: str, by_org_code: str) -> CloudEvent:
    payload = contract.TechRequestAnswered(answer=answer, answered_by_org_code=by_org_code, **_tech_common(request))
    return _event(contract.TECH_REQUEST_ANSWERED, f"tech-requests/{request.id}", payload)


def tech_request_escalated(request: TechRequest, from_org_code: str, reason: str, trigger: str,
                           at: datetime) -> CloudEvent:
    payload = contract.TechRequestEscalated(from_org_code=from_org_code, to_org_code=request.handling_org_code,
                                            reason=reason, trigger=trigger, escalated_at=at,  # type: ignore[arg-type]
                                            **_tech_common(request))
    return _event(contract.TECH_REQUEST_ESCALATED, f"tech-requests/{request.id}", payload)


def tech_request_closed(request: TechRequest) -> CloudEvent:
    return _event(contract.TECH_REQUEST_CLOSED, f"tech-requests/{request.id}",
                  contract.TechRequestClosed(**_tech_common(request)))


def bulletin_published(bulletin: Bulletin) -> CloudEvent:
    payload = contract.BulletinPublished(
        bulletin_id=bulletin.id, org_code=bulletin.org_code, org_path=bulletin.org_path, title=bulletin.title,
        models=bulletin.models, symptom_codes=bulletin.symptom_codes, signal_id=bulletin.signal_id,
        published_at=bulletin.created_at)
    return _event(contract.BULLETIN_PUBLISHED, f"bulletins/{bulletin.id}", payload)


def bulletin_overdue(bulletin: Bulletin, dealer_code: str, dealer_path: str, due_at: datetime) -> CloudEvent:
    payload = contract.BulletinOverdue(bulletin_id=bulletin.id, title=bulletin.title, dealer_code=dealer_code,
                                       org_path=dealer_path, published_at=bulletin.created_at, due_at=due_at)
    return _event(contract.BULLETIN_OVERDUE, f"bulletins/{bulletin.id}", payload)


def recall_vin_assigned(recall: Recall, dealer_code: str | None, org_path: str, vins: list[str],
                        at: datetime) -> CloudEvent:
    payload = contract.RecallVinAssigned(recall_code=recall.code, title=recall.title,
                                         remedy_op_code=recall.remedy_op_code, dealer_code=dealer_code,
                                         org_path=org_path, vins=vins, assigned_at=at)
    return _event(contract.RECALL_VIN_ASSIGNED, f"recalls/{recall.code}", payload)


def recall_completed(recall: Recall, item: RecallVin) -> CloudEvent:
    assert item.completed_at is not None and item.completed_ro is not None
    payload = contract.RecallCompleted(recall_code=recall.code, vin=item.vin, dealer_code=item.dealer_code,
                                       org_path=item.org_path, ro_number=item.completed_ro,
                                       completed_at=item.completed_at)
    return _event(contract.RECALL_COMPLETED, f"recalls/{recall.code}", payload)
