"""The events the complaint service consumes. `shared.consumer` applies each event id once; the
unique survey response of survey-alert cases, and the unique follow-up of follow-up cases, also
make a re-published event (a new id) open one case, and of two consumers racing for one, the
second finds the first's case and is done.

- survey.alert.raised -> a case (channel survey_alert, the alert's priority, linked to the response),
  `response_under_review` when the response is flagged
- survey.response.flagged / survey.response.reviewed -> the response's case says whether it is under review
- followup.issue_found -> a case (channel follow_up, P3, category from the issue codes, linked to
  the follow-up by `followup_id`; complaint.opened carries it back to the customer service)
- customer.erased -> the customer's cases stay, unlinked from the customer, their free text blanked
- improvement.action_done naming a complaint -> its corrective action shows `done_at` and `plan_id`
- vehicle.delivered, service_visit.closed/updated -> the VIN's responsible dealer (recalls.py), and
  a visit with a recall's remedy op code completes that recall on the VIN
"""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.complaint import cases, domain, recalls
from services.complaint.cases import entry
from services.complaint.repository import ComplaintRepository
from services.complaint.repository_loop import LoopRepository
from services.complaint.schemas import ComplaintCreate
from services.complaint.settings import ComplaintSettings
from shared.auth import system_principal
from shared.consumer import EventHandler
from shared.contracts import customer as customer_contract
from shared.contracts import kpi as kpi_contract
from shared.contracts import survey as survey_contract
from shared.db import utcnow
from shared.events import CloudEvent
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import Conflict


def _repo(session: AsyncSession) -> ComplaintRepository:
    return ComplaintRepository(session, system_principal())


def _description(alert: survey_contract.AlertRaised) -> str:
    reasons = "; ".join(reason.detail for reason in alert.reasons) or "alert rule broken"
    return f"Survey {alert.survey_code} response flagged: {reasons}"[:4000]


def _issue_description(found: customer_contract.FollowUpIssueFound) -> str:
    """The agent's note is the case's account of the issue; the codes say it when there is no note,
    and name the issues the category does not (a call may find several)."""
    codes = ", ".join(found.issue_codes)
    note = (found.note or "").strip()
    if note:
        return (f"{note}\nIssue codes: {codes}" if codes else note)[:4000]
    told = f"; issue codes: {codes}" if codes else "; no issue code given"
    return f"Dissatisfied on the {found.kind.replace('_', ' ')} follow-up call{told}"[:4000]


async def _open_once(repo: ComplaintRepository, directory: OrgDirectory, settings: ComplaintSettings,
                     data: ComplaintCreate, dealer: OrgInfo, followup_id: uuid.UUID | None = None) -> None:
    """Open the case unless its source has one. A consumer racing this one for the same source
    (another replica, a re-published event) makes the insert conflict: that case is the one, so
    this event is done; the savepoint undoes only this attempt (its case number included)."""
    try:
        async with repo.savepoint():
            await cases.open_case(repo, directory, settings, data, dealer, followup_id=followup_id)
    except Conflict:
        return


async def _mark_review(repo: ComplaintRepository, response_id: uuid.UUID, *, under_review: bool) -> None:
    case = await repo.alert_case(response_id)
    if case is not None and case.response_under_review != under_review:
        case.response_under_review = under_review
        case.version += 1
        await repo.add(case)


async def on_response_integrity(session: AsyncSession, event: CloudEvent) -> None:
    """A flag raised later, or a review's decision: the case follows the response's status."""
    changed = survey_contract.ResponseIntegrityChanged.model_validate(event.data)
    await _mark_review(_repo(session), changed.response_id, under_review=changed.integrity.status == "flagged")


async def on_customer_erased(session: AsyncSession, event: CloudEvent) -> None:
    data = customer_contract.CustomerErased.model_validate(event.data)
    repo, now = _repo(session), utcnow()
    for case in await repo.customer_cases(data.customer_id):
        # The case and its facts stay for the KPIs; what links or describes the person goes.
        case.customer_id, case.vin, case.description, case.erased_at = None, None, "", now
        if case.resolution:
            case.resolution = {**case.resolution, "summary": ""}
        case.version += 1
        await repo.blank_timeline_notes(case.id)
        await repo.add(entry(case, repo.principal, "customer_erased", now))


async def on_action_done(session: AsyncSession, event: CloudEvent) -> None:
    """A plan action taken from a case's corrective action was done: the case records it (in its
    resolution, where the corrective action is) and its timeline says so."""
    done = kpi_contract.ImprovementActionDone.model_validate(event.data)
    if done.complaint_id is None:
        return
    repo = _repo(session)
    case = await repo.complaint(done.complaint_id)
    corrective = (case.resolution or {}).get("corrective_action") if case else None
    if case is None or not corrective:
        return
    marks = {"done_at": done.done_at.isoformat(), "plan_id": str(done.plan_id)}
    case.resolution = {**(case.resolution or {}), "corrective_action": {**corrective, **marks}}
    case.version += 1
    await repo.add(entry(case, repo.principal, "corrective_action_done", done.done_at,
                         data={**marks, "action_index": done.action_index}))


async def on_vehicle_delivered(session: AsyncSession, event: CloudEvent) -> None:
    await recalls.on_delivered(LoopRepository(session, system_principal()),
                               customer_contract.VehicleDelivered.model_validate(event.data))


async def on_visit_closed(session: AsyncSession, event: CloudEvent) -> None:
    """service_visit.updated too: a corrected visit may add the remedy op code (completing twice is a no-op)."""
    await recalls.on_visit_closed(LoopRepository(session, system_principal()),
                                  customer_contract.ServiceVisitClosed.model_validate(event.data))


def event_handlers(settings: ComplaintSettings, directory: OrgDirectory) -> dict[str, EventHandler]:
    async def on_alert_raised(session: AsyncSession, event: CloudEvent) -> None:
        alert = survey_contract.AlertRaised.model_validate(event.data)
        if alert.submitted_at < utcnow() - timedelta(days=settings.alert_case_max_age_days):
            # Old results a third party delivered late: the visit is long past; a new P1 case
            # with an SLA clock starting now would measure nothing but the import.
            return
        repo = _repo(session)
        if await repo.alert_case(alert.response_id):
            return
        # Trusted producer: fields are taken as sent (a VIN the survey stored is not re-judged here).
        # A "not fixed" answer files the case as repair quality with the visit's model and symptoms:
        # quality evidence (services/complaint/quality.py); any other alert names neither.
        not_fixed = alert.quality_evidence == "not_fixed"
        data = ComplaintCreate.model_construct(
            dealer_code=alert.dealer_code, customer_id=alert.customer_id, vin=alert.vin, channel="survey_alert",
            category="repair_quality" if not_fixed else "other", priority=alert.priority,
            description=_description(alert), ro_number=alert.ro_number, survey_response_id=alert.response_id,
            assignee=None, vehicle_model=alert.model if not_fixed else None,
            symptom_codes=alert.symptom_codes if not_fixed else [])
        dealer = OrgInfo(code=alert.dealer_code, name=alert.dealer_code, kind="dealer", path=alert.org_path)
        await _open_once(repo, directory, settings, data, dealer)
        if alert.integrity.status == "flagged":
            await _mark_review(repo, alert.response_id, under_review=True)

    async def on_issue_found(session: AsyncSession, event: CloudEvent) -> None:
        found = customer_contract.FollowUpIssueFound.model_validate(event.data)
        repo = _repo(session)
        if await repo.followup_case(found.followup_id):
            return
        # Trusted producer, as for alerts: the customer service checked the follow-up's records.
        # A call that found the fix failed carries the visit's model and symptoms: quality evidence.
        not_fixed = domain.NOT_FIXED in {code.strip().lower() for code in found.issue_codes}
        data = ComplaintCreate.model_construct(
            dealer_code=found.dealer_code, customer_id=found.customer_id, vin=found.vin, channel="follow_up",
            category=domain.category_for_issues(found.issue_codes), priority=domain.FOLLOW_UP_PRIORITY,
            description=_issue_description(found), ro_number=found.ro_number, survey_response_id=None,
            assignee=None, vehicle_model=found.model if not_fixed else None,
            symptom_codes=found.symptom_codes if not_fixed else [])
        dealer = OrgInfo(code=found.dealer_code, name=found.dealer_code, kind="dealer", path=found.org_path)
        await _open_once(repo, directory, settings, data, dealer, found.followup_id)

    return {
        survey_contract.ALERT_RAISED: on_alert_raised,
        survey_contract.RESPONSE_FLAGGED: on_response_integrity,
        survey_contract.RESPONSE_REVIEWED: on_response_integrity,
        customer_contract.FOLLOWUP_ISSUE_FOUND: on_issue_found,
        customer_contract.CUSTOMER_ERASED: on_customer_erased,
        kpi_contract.IMPROVEMENT_ACTION_DONE: on_action_done,
        customer_contract.VEHICLE_DELIVERED: on_vehicle_delivered,
        customer_contract.SERVICE_VISIT_CLOSED: on_visit_closed,
        customer_contract.SERVICE_VISIT_UPDATED: on_visit_closed,
    }
