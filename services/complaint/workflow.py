"""Moving a case through its states, and recording how it was resolved."""

import uuid
from datetime import datetime

from services.complaint import domain, events
from services.complaint.sla import policies
from services.complaint.cases import claim, entry
from services.complaint.models import Complaint
from services.complaint.repository import ComplaintRepository
from services.complaint.schemas import ResolutionIn, TransitionIn
from shared.db import utcnow
from shared.problems import Conflict


async def transition(repo: ComplaintRepository, complaint_id: uuid.UUID, data: TransitionIn,
                     if_match: str | None) -> Complaint:
    case = await claim(repo, complaint_id, if_match, handlers_only=True)
    move = domain.move(case.status, data.to)
    allowed = list(domain.allowed_moves(case.status))
    if move is None:
        raise Conflict(f"A {case.status} case cannot move to {data.to}; allowed: {', '.join(allowed) or 'none'}",
                       allowed=allowed, status_now=case.status)
    if move.to_status == "closed" and (missing := domain.missing_for_close(case.resolution)):
        raise Conflict(f"Closing needs the resolution's {' and '.join(missing)} (PUT .../resolution)", missing=missing)
    now, from_status = utcnow(), case.status
    _stamp(case, data.to, now)
    if domain.clock_stops(from_status, move.to_status):
        policies.stop_clock(case, now)
    elif domain.clock_resumes(from_status, move.to_status):
        policies.resume_clock(case, now)
    case.status = move.to_status
    await repo.add(entry(case, repo.principal, "reopened" if move.reopening else "status_changed", now,
                         note=data.note, from_status=from_status, to_status=case.status,
                         data={"reopen_count": case.reopen_count} if move.reopening else None))
    await repo.publish(*events.status_changed(case, from_status, now))
    return case


def _stamp(case: Complaint, target: str, now: datetime) -> None:
    """The time columns a move sets; the first response is met by acknowledging."""
    if target == "acknowledged":
        case.first_responded_at = now
    elif target == "resolved":
        case.resolved_at = now
    elif target == "closed":
        case.closed_at = now
    elif target == "reopened":
        case.reopen_count += 1
        case.resolved_at = case.closed_at = None


async def record_resolution(repo: ComplaintRepository, complaint_id: uuid.UUID, data: ResolutionIn,
                            if_match: str | None) -> Complaint:
    case = await claim(repo, complaint_id, if_match, handlers_only=True)
    if case.status == "closed":
        raise Conflict("A closed case's resolution is final; reopen the case to change it")
    case.resolution = data.model_dump(mode="json")
    await repo.add(entry(case, repo.principal, "resolution", utcnow(), note=data.summary,
                         data={"root_cause": case.resolution["root_cause"], "actions": data.actions,
                               "customer_agrees": data.customer_agrees}))
    return case
