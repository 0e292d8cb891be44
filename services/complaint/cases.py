"""Complaint use cases: open, read, list, assign, comment, and the shared pieces of every change.

Every change to a case goes through `claim`: the If-Match version is checked by the database
as it writes, then the change and its timeline entry are added in the same transaction.
"""

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.complaint import domain, events, quality
from services.complaint.sla import policies
from services.complaint.models import Complaint, TimelineEntry
from services.complaint.references import ReferenceSources
from services.complaint.repository import ComplaintFilter, ComplaintRepository
from services.complaint.schemas import ComplaintCreate, ComplaintRead, ComplaintUpdate, TimelineRead
from services.complaint.settings import ComplaintSettings
from shared.auth import Principal
from shared.db import utcnow
from shared.etag import etag_for, expected_version
from shared.orgs import OrgDirectory, OrgInfo
from shared.pagination import PageParams
from shared.problems import Conflict, Forbidden, PreconditionFailed


def to_read(case: Complaint, timeline: list[TimelineEntry] | None = None) -> ComplaintRead:
    fields = {name: getattr(case, name) for name in ComplaintRead.model_fields
              if name not in ("clock_running", "timeline")}
    return ComplaintRead(**fields, clock_running=case.clock_stopped_at is None and case.status not in domain.CLOCK_STOPPED,
                         timeline=None if timeline is None else [_entry_read(entry) for entry in timeline])


def _entry_read(entry: TimelineEntry) -> TimelineRead:
    return TimelineRead(kind=entry.kind, at=entry.at, actor={"subject": entry.actor_subject, "org_code": entry.actor_org_code},
                        from_status=entry.from_status, to_status=entry.to_status, note=entry.note, data=entry.data)


def entry(case: Complaint, actor: Principal, kind: str, at: datetime, *, note: str | None = None,
          from_status: str | None = None, to_status: str | None = None, data: dict | None = None) -> TimelineEntry:
    return TimelineEntry(complaint_id=case.id, org_path=case.org_path, kind=kind, actor_subject=actor.subject,
                         actor_org_code=actor.org_code, from_status=from_status, to_status=to_status, note=note,
                         data=data or {}, at=at)


async def read_case(repo: ComplaintRepository, complaint_id: uuid.UUID) -> ComplaintRead:
    case = await repo.get_visible(Complaint, complaint_id)
    return to_read(case, await repo.timeline(case.id))


async def list_cases(repo: ComplaintRepository, where: ComplaintFilter,
                     page: PageParams) -> tuple[list[Complaint], str | None]:
    return await repo.complaints(where, page)


async def claim(repo: ComplaintRepository, complaint_id: uuid.UUID, if_match: str | None, *,
                handlers_only: bool = False) -> Complaint:
    """The case, now at the next version, if `if_match` names its current one; else 412.

    `handlers_only`: a change only the handling organisation and those above it may make
    (403 for anyone else who sees the case, i.e. the dealer below an escalated case).
    """
    case = await repo.get_visible(Complaint, complaint_id)
    if handlers_only and not domain.may_handle(repo.principal.org_path, case.handling_org_path):
        raise Forbidden(f"The case is handled by {case.handling_org_code} since its escalation; "
                        "only that organisation and those above it may move, resolve or escalate it (comments are open)",
                        handling_org_code=case.handling_org_code)
    expected = expected_version(if_match)
    if expected != case.version or not await repo.claim_version(case, expected):
        current = (await repo.complaint(complaint_id) or case).version
        raise PreconditionFailed("The complaint changed since you read it; read it again",
                                 headers={"ETag": etag_for(current)})
    return case


async def open_for_caller(repo: ComplaintRepository, directory: OrgDirectory, references: ReferenceSources,
                          settings: ComplaintSettings, data: ComplaintCreate, caller_token: str) -> Complaint:
    """A case a caller opens: the dealer it names and every record it refers to must be in the
    caller's reach and that dealer's (422 otherwise), before anything is stored."""
    dealer = await directory.dealer_for(repo.principal, data.dealer_code)
    await references.check(caller_token, data)
    return await open_case(repo, directory, settings, data, dealer)


async def open_case(repo: ComplaintRepository, directory: OrgDirectory, settings: ComplaintSettings,
                    data: ComplaintCreate, dealer: OrgInfo, now: datetime | None = None, *,
                    followup_id: uuid.UUID | None = None) -> Complaint:
    """A new case with its number, SLA due times, timeline entry and `complaint.opened`.

    `followup_id`: the follow-up call whose dissatisfied result opens it (only the consumer of
    followup.issue_found links one; a case opened through the API names no follow-up).
    """
    now = now or utcnow()
    if data.channel == "survey_alert" and data.survey_response_id and await repo.alert_case(data.survey_response_id):
        raise _already_open(None)
    clock = await policies.clock_for(repo, dealer.path, data.priority, now)
    number = domain.year_number(now.year, await repo.next_number(now.year))
    case = Complaint(
        id=uuid.uuid4(), number=number, dealer_code=dealer.code, org_path=dealer.path,
        handling_org_code=dealer.code, handling_org_path=dealer.path, escalation_level=0,
        status="new", reopen_count=0, opened_at=now, breached=False, version=1,
        created_at=now, updated_at=now, followup_id=followup_id, **data.model_dump(exclude={"dealer_code"}),
        **policies.clock_columns(clock),
    )
    opened = {"channel": case.channel, "priority": case.priority} | ({"followup_id": str(followup_id)} if followup_id else {})
    try:
        await repo.add(case, entry(case, repo.principal, "opened", now, to_status="new", data=opened))
    except IntegrityError as exc:
        # The alert index is global while the check above sees the caller's scope only; two
        # writers racing for one response (or one follow-up call) also meet here. Either way:
        # a conflict, not a 500.
        raise _already_open(followup_id) from exc
    await repo.publish(events.opened(case))
    if reason := domain.escalation_reason_for_new_case(case.priority):
        await escalate_one_level(repo, directory, case, reason, "priority", now)
    await quality.check(repo, settings, case, now)
    return case


def _already_open(followup_id: uuid.UUID | None) -> Conflict:
    if followup_id:
        return Conflict("A case is already open for this follow-up call",
                        errors=[{"field": "followup_id", "message": "already has a case"}])
    return Conflict("A case is already open for this survey response",
                    errors=[{"field": "survey_response_id", "message": "already has a case"}])


async def escalate_one_level(repo: ComplaintRepository, directory: OrgDirectory, case: Complaint, reason: str,
                             trigger: str, now: datetime) -> bool:
    """Hand the case to the parent of the org now handling it; False at the top of the tree."""
    handler = await directory.get(case.handling_org_code)
    parent = await directory.get(handler.parent_code) if handler and handler.parent_code else None
    if parent is None:
        return False
    from_code = case.handling_org_code
    case.handling_org_code, case.handling_org_path = parent.code, parent.path
    case.escalation_level += 1
    await repo.add(entry(case, repo.principal, "escalated", now, note=reason,
                         data={"from_org_code": from_code, "to_org_code": parent.code, "trigger": trigger,
                               "level": case.escalation_level}))
    await repo.publish(events.escalated(case, from_code, reason, trigger, now))
    return True


async def escalate(repo: ComplaintRepository, directory: OrgDirectory, complaint_id: uuid.UUID, reason: str,
                   if_match: str | None) -> Complaint:
    case = await claim(repo, complaint_id, if_match, handlers_only=True)
    if case.status == "closed":
        raise Conflict("A closed case is not escalated; reopen it first")
    if not await escalate_one_level(repo, directory, case, reason, "manual", utcnow()):
        raise Conflict(f"{case.handling_org_code} is the top of the organisation tree; there is no one to escalate to")
    return case


async def comment(repo: ComplaintRepository, complaint_id: uuid.UUID, text: str, if_match: str | None) -> Complaint:
    case = await claim(repo, complaint_id, if_match)
    await repo.add(entry(case, repo.principal, "comment", utcnow(), note=text))
    return case


async def update_case(repo: ComplaintRepository, complaint_id: uuid.UUID, data: ComplaintUpdate,
                      if_match: str | None) -> Complaint:
    case = await claim(repo, complaint_id, if_match)
    changes = data.model_dump(exclude_unset=True)
    if "assignee" in changes:
        await repo.add(entry(case, repo.principal, "assigned", utcnow(),
                             data={"from": case.assignee, "to": changes["assignee"]}))
        case.assignee = changes["assignee"]
    await repo.flush()
    return case
