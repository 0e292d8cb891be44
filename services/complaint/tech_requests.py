"""Technical requests (issue 18, EDER): a dealer asks, its distributor's technical team answers,
and the manufacturer's when the request is escalated.

The answer SLA is the complaint SLA machinery, not a copy of it: the business time of
`tech_request_answer_hours` (settings, per priority) on the calendar of the SLA policy that
governs the dealer's complaints of that priority (`policies.clock_for`), added by
`business_hours`; the complaint SLA job (`jobs.run_once`) reports a missed answer due time
once per level and escalates. Every escalation (by hand: the dealer or any team that may
answer; or a breach) hands the request one level up with a fresh answer due time.

Statuses: open -> answered (an answer from the handling team or one above it) -> closed (the
dealer closes it, `POST .../close`). An escalation of an answered request opens it again:
the dealer says the answer did not solve it.
"""

import uuid
from datetime import datetime, timedelta
from typing import Literal

from services.complaint import domain, events
from services.complaint.models import TechRequest, TechRequestCounter, TechRequestTimelineEntry
from services.complaint.repository import ComplaintRepository, TechRequestFilter
from services.complaint.schemas import TechRequestCreate, TechRequestRead, TechRequestTimelineRead
from services.complaint.settings import ComplaintSettings
from services.complaint.sla import policies
from services.complaint.sla.business_hours import Calendar
from shared.auth import Principal
from shared.db import utcnow
from shared.etag import etag_for, expected_version
from shared.orgs import OrgDirectory, OrgInfo
from shared.pagination import PageParams
from shared.problems import Conflict, Forbidden, PreconditionFailed, UnprocessableContent

Trigger = Literal["manual", "sla_breach"]


def to_read(request: TechRequest, timeline: list[TechRequestTimelineEntry] | None = None) -> TechRequestRead:
    fields = {name: getattr(request, name) for name in TechRequestRead.model_fields if name != "timeline"}
    return TechRequestRead(**fields, timeline=None if timeline is None else [_entry_read(entry) for entry in timeline])


def _entry_read(entry: TechRequestTimelineEntry) -> TechRequestTimelineRead:
    return TechRequestTimelineRead(kind=entry.kind, at=entry.at,
                                   actor={"subject": entry.actor_subject, "org_code": entry.actor_org_code},
                                   from_status=entry.from_status, to_status=entry.to_status, note=entry.note,
                                   data=entry.data)


def _entry(request: TechRequest, actor: Principal, kind: str, at: datetime, *, note: str | None = None,
           from_status: str | None = None, to_status: str | None = None,
           data: dict[str, object] | None = None) -> TechRequestTimelineEntry:
    return TechRequestTimelineEntry(tech_request_id=request.id, org_path=request.org_path, kind=kind,
                                    actor_subject=actor.subject, actor_org_code=actor.org_code, from_status=from_status,
                                    to_status=to_status, note=note, data=data or {}, at=at)


def _calendar(request: TechRequest) -> Calendar | None:
    return Calendar.model_validate(request.calendar) if request.calendar else None


async def read(repo: ComplaintRepository, request_id: uuid.UUID) -> TechRequestRead:
    request = await repo.get_visible(TechRequest, request_id, missing=f"No technical request {request_id}")
    return to_read(request, await repo.tech_request_timeline(request.id))


async def listed(repo: ComplaintRepository, where: TechRequestFilter,
                 page: PageParams) -> tuple[list[TechRequest], str | None]:
    return await repo.tech_requests(where, page)


async def open_request(repo: ComplaintRepository, directory: OrgDirectory, settings: ComplaintSettings,
                       data: TechRequestCreate, now: datetime | None = None) -> TechRequest:
    """A dealer's question, handed to its distributor (the org above the dealer) with its answer due time.

    The dealer must be one the caller may act for (422 otherwise: a sibling's code is as
    unknown as a made-up one). The VIN is the vehicle the question is about, free text to this
    service: a dealer may ask about a car it has no record of yet.
    """
    dealer = await directory.dealer_for(repo.principal, data.dealer_code)
    handler = await _parent(directory, dealer)
    if handler is None:
        raise UnprocessableContent(f"{dealer.code} has no organisation above it to answer technical requests",
                                   errors=[{"field": "dealer_code", "message": "no distributor or manufacturer above it"}])
    now = now or utcnow()
    answer = timedelta(hours=settings.tech_request_answer_hours[data.priority])
    # The dealer's business calendar is the one its complaint SLA policy of this priority names.
    calendar = (await policies.clock_for(repo, dealer.path, data.priority, now)).calendar
    number = domain.tech_request_number(now.year, await repo.next_number(now.year, TechRequestCounter))
    request = TechRequest(
        id=uuid.uuid4(), number=number, dealer_code=dealer.code, org_path=dealer.path,
        handling_org_code=handler.code, handling_org_path=handler.path, escalation_level=0, vin=data.vin,
        symptom_codes=data.symptom_codes, description=data.description, priority=data.priority, status="open",
        opened_at=now, answer_minutes=int(answer.total_seconds() // 60),
        calendar=calendar.model_dump(mode="json") if calendar else None,
        answer_due=domain.tech_request_answer_due(now, answer, calendar), breached=False, version=1,
        created_at=now, updated_at=now)
    await repo.add(request, _entry(request, repo.principal, "opened", now, to_status="open",
                                   data={"priority": request.priority, "handling_org_code": handler.code,
                                         "answer_due": request.answer_due.isoformat()}))
    await repo.publish(events.tech_request_opened(request))
    return request


async def _parent(directory: OrgDirectory, org: OrgInfo) -> OrgInfo | None:
    return await directory.get(org.parent_code) if org.parent_code else None


async def _claim(repo: ComplaintRepository, request_id: uuid.UUID, if_match: str | None) -> TechRequest:
    """The request, now at its next version, if `if_match` names its current one; else 412."""
    request = await repo.get_visible(TechRequest, request_id, missing=f"No technical request {request_id}")
    expected = expected_version(if_match)
    if expected != request.version or not await repo.claim_tech_request_version(request, expected):
        current = (await repo.tech_request(request_id) or request).version
        raise PreconditionFailed("The technical request changed since you read it; read it again",
                                 headers={"ETag": etag_for(current)})
    return request


async def answer(repo: ComplaintRepository, request_id: uuid.UUID, body: str, if_match: str | None) -> TechRequest:
    """The handling team's (or a team above it's) answer; a later answer adds to the first."""
    request = await _claim(repo, request_id, if_match)
    if not domain.may_handle(repo.principal.org_path, request.handling_org_path):
        raise Forbidden(f"{request.handling_org_code}'s technical team answers this request "
                        "(or a team above it); the dealer may escalate or close it",
                        handling_org_code=request.handling_org_code)
    if request.status == "closed":
        raise Conflict("The dealer closed this technical request; it takes no more answers", status_now=request.status)
    now, from_status = utcnow(), request.status
    if from_status == "open" and domain.tech_request_missed(status=from_status, now=now, answer_due=request.answer_due):
        # Late, and before the SLA job saw it: the breach is this team's all the same (no escalation: it answered).
        await _record_breach(repo, request, now)
    request.status, request.answered_at = "answered", now
    await repo.add(_entry(request, repo.principal, "answered", now, note=body, from_status=from_status,
                          to_status="answered"))
    await repo.publish(events.tech_request_answered(request, body, repo.principal.org_code))
    return request


async def escalate(repo: ComplaintRepository, directory: OrgDirectory, request_id: uuid.UUID, reason: str,
                   if_match: str | None) -> TechRequest:
    """By hand: the dealer (the answer is late or did not help) or a team that may answer."""
    request = await _claim(repo, request_id, if_match)
    caller = repo.principal.org_path
    if caller != request.org_path and not domain.may_handle(caller, request.handling_org_path):
        raise Forbidden(f"The dealer that asked, or {request.handling_org_code}'s technical team (or one above it), "
                        "escalates this request", handling_org_code=request.handling_org_code)
    if not domain.may_escalate_tech_request(request.status):
        raise Conflict("A closed technical request is not escalated", status_now=request.status)
    if not await escalate_one_level(repo, directory, request, reason, "manual", utcnow()):
        raise Conflict(f"{request.handling_org_code} is the top of the organisation tree; there is no one to escalate to")
    return request


async def escalate_one_level(repo: ComplaintRepository, directory: OrgDirectory, request: TechRequest, reason: str,
                             trigger: Trigger, now: datetime) -> bool:
    """Hand the request to the org above its handling team, which owes an answer a full answer SLA
    from now; False at the top of the tree."""
    handler = await directory.get(request.handling_org_code)
    parent = await _parent(directory, handler) if handler else None
    if parent is None:
        return False
    from_code, from_status = request.handling_org_code, request.status
    request.handling_org_code, request.handling_org_path = parent.code, parent.path
    request.escalation_level += 1
    request.status = "open"
    request.answer_due = domain.tech_request_answer_due(now, timedelta(minutes=request.answer_minutes),
                                                        _calendar(request))
    await repo.add(_entry(request, repo.principal, "escalated", now, note=reason, from_status=from_status,
                          to_status="open", data={"from_org_code": from_code, "to_org_code": parent.code,
                                                  "trigger": trigger, "level": request.escalation_level,
                                                  "answer_due": request.answer_due.isoformat()}))
    await repo.publish(events.tech_request_escalated(request, from_code, reason, trigger, now))
    return True


async def close(repo: ComplaintRepository, request_id: uuid.UUID, if_match: str | None) -> TechRequest:
    """The dealer that asked closes its answered request (the answer solved it)."""
    request = await _claim(repo, request_id, if_match)
    if repo.principal.org_path != request.org_path:
        raise Forbidden(f"The dealer that asked ({request.dealer_code}) closes its technical request")
    if request.status != "answered":
        raise Conflict("An open technical request has no answer to close it on yet" if request.status == "open"
                       else "The technical request is closed already", status_now=request.status)
    now = utcnow()
    request.status, request.closed_at = "closed", now
    await repo.add(_entry(request, repo.principal, "closed", now, from_status="answered", to_status="closed"))
    await repo.publish(events.tech_request_closed(request))
    return request


class StaleRequest(Exception):
    """A user changed the request after the job read it; leaving the transaction rolls the breach back."""


async def report_breach(repo: ComplaintRepository, directory: OrgDirectory, request_id: uuid.UUID,
                        now: datetime) -> bool:
    """The SLA job's step for one request: record the missed answer due time of its current level
    once, and escalate it. False when there was nothing (more) to report."""
    request = await repo.tech_request(request_id)
    if request is None or not domain.tech_request_missed(status=request.status, now=now, answer_due=request.answer_due):
        return False
    due, team = request.answer_due, request.handling_org_code
    if not await _record_breach(repo, request, now):
        return False
    if not await repo.claim_tech_request_version(request, request.version):
        raise StaleRequest
    await escalate_one_level(repo, directory, request, f"Answer SLA breached: {team}'s answer was due "
                             f"{due.isoformat()}", "sla_breach", now)
    return True


async def _record_breach(repo: ComplaintRepository, request: TechRequest, now: datetime) -> bool:
    """The handling team's missed answer due time, on record and on the timeline once; False if it was already."""
    if not await repo.record_tech_request_breach(request, now):
        return False
    request.breached = True
    await repo.add(_entry(request, repo.principal, "breached", now,
                          data={"handling_org_code": request.handling_org_code,
                                "answer_due": request.answer_due.isoformat()}))
    return True
