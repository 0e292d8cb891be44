"""Improvement plans (PDCA): create, read, list, move, mark an action done; and the job that
re-checks plans and reports overdue actions.

A plan belongs to one org and is created by that org or one above it (scope kpi:write); it is
visible to its org and every org above it, so a distributor follows its dealers' plans. Its
status moves only along TRANSITIONS. An action's owner on a dealer's plan is an active staff
code of that dealer (kpi_staff, or the customer service when `staff.changed` has not arrived);
on a distributor's or manufacturer's plan, which has no staff register, it is free text.

The re-check: once `recheck_period` has ended and the org's KPI has a value for it, `result`
is that value and whether it meets the plan's target in the KPI's direction (domain.met). The
job stores it; a read before the job ran computes it the same way.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.kpi import domain
from services.kpi.domain import Agg
from services.kpi.figures import Buckets, Figures
from services.kpi.models import ImprovementAction, ImprovementPlan
from services.kpi.orgs import CallerSubtrees
from services.kpi.plan_sources import PlanSources
from services.kpi.reports import check_kpi, org_for, parse_period
from services.kpi.repository_plans import PlanRepository
from services.kpi.schemas import PlanActionIn, PlanActionRead, PlanCreate, PlanRead, PlanResult, PlanSource
from shared.auth import system_principal
from shared.contracts import kpi as contract
from shared.db import utcnow
from shared.events import CloudEvent, new_event
from shared.org_path import OrgPath
from shared.orgs import OrgInfo
from shared.pagination import PageParams
from shared.problems import Conflict, NotFound, UnprocessableContent
from shared.types import Period

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "plan": ("do",), "do": ("check",), "check": ("act", "closed"), "act": ("closed",), "closed": (),
}
JOB_BATCH = 200


@dataclass(frozen=True)
class _Action:
    """An action as it will be stored: the body's fields, completed from its complaint's corrective action."""

    description: str
    owner: str | None
    due: date
    complaint_id: uuid.UUID | None


def _today() -> date:
    return utcnow().date()


def _overdue(action: ImprovementAction, today: date) -> bool:
    return action.done_at is None and action.due < today


async def _recheck(repo: PlanRepository, plan: ImprovementPlan) -> tuple[float, bool] | None:
    """The plan's KPI over `recheck_period` and whether it meets the target; None before a value exists."""
    agg = (await Figures(repo.figures()).parts(plan.kpi, Period.parse(plan.recheck_period),
                                               Buckets(plan.org_path))).get(plan.org_path, Agg())
    if agg.value is None:
        return None
    return agg.value, bool(domain.met(plan.kpi, agg.value, plan.target))


async def to_read(repo: PlanRepository, plan: ImprovementPlan, actions: list[ImprovementAction]) -> PlanRead:
    today = _today()
    result = None
    if plan.result_value is not None and plan.result_met is not None:
        result = PlanResult(value=round(plan.result_value, 1), met=plan.result_met)
    elif plan.recheck_end <= utcnow() and (found := await _recheck(repo, plan)) is not None:
        # Rounded as every figure leaving the service (reports.shown); `met` judged on the exact value.
        result = PlanResult(value=round(found[0], 1), met=found[1])
    return PlanRead(
        id=plan.id, org_code=plan.org_code, kpi=plan.kpi, period=plan.period, baseline=plan.baseline,
        target=plan.target, recheck_period=plan.recheck_period, cause=plan.cause,
        source=PlanSource(kind=plan.source_kind, ref=plan.source_ref), status=plan.status,  # type: ignore[arg-type]
        actions=[PlanActionRead(index=a.position, description=a.description, owner=a.owner, due=a.due,
                                complaint_id=a.complaint_id, done_at=a.done_at, overdue=_overdue(a, today))
                 for a in actions],
        result=result, created_at=plan.created_at, updated_at=plan.updated_at)


async def read_plan(repo: PlanRepository, plan_id: uuid.UUID) -> PlanRead:
    plan = await repo.plan(plan_id)
    return await to_read(repo, plan, (await repo.actions([plan.id]))[plan.id])


async def list_plans(repo: PlanRepository, org: OrgInfo, page: PageParams, status: str | None,
                     overdue: bool | None) -> tuple[list[PlanRead], str | None]:
    plans, cursor = await repo.plans(org.path, page, status=status, overdue=overdue, today=_today())
    actions = await repo.actions([plan.id for plan in plans])
    return [await to_read(repo, plan, actions[plan.id]) for plan in plans], cursor


# --- create ----------------------------------------------------------------------------------------


async def create_plan(repo: PlanRepository, subtrees: CallerSubtrees, sources: PlanSources, caller_token: str,
                      data: PlanCreate) -> PlanRead:
    principal = repo.principal
    org = await org_for(subtrees, principal, data.org_code, in_body=True)
    kpi = check_kpi(data.kpi)
    period, recheck = parse_period(data.period), parse_period(data.recheck_period, "recheck_period")
    if recheck.end <= period.end:
        raise UnprocessableContent("The re-check period ends after the plan's period",
                                   errors=[{"field": "recheck_period", "message": "not after the period"}])
    bodies = list(data.actions)
    if data.source.kind == "complaint":
        source_complaint = _complaint_ref(data.source.ref)
        if not bodies:
            bodies = [PlanActionIn(complaint_id=source_complaint)]
        await _check_complaint(sources, caller_token, org, source_complaint, "source.ref")
    if not bodies:
        raise UnprocessableContent("A plan has at least one action",
                                   errors=[{"field": "actions", "message": "at least one action"}])
    actions = [await _completed(sources, caller_token, org, i, body) for i, body in enumerate(bodies)]
    await _check_owners(repo, sources, caller_token, org, actions)
    now = utcnow()
    plan = ImprovementPlan(
        id=uuid.uuid4(), org_path=org.path, org_code=org.code, kpi=kpi, period=period.label, baseline=data.baseline,
        target=data.target, recheck_period=recheck.label, recheck_end=recheck.end, cause=data.cause,
        source_kind=data.source.kind, source_ref=data.source.ref, status="plan", created_by=principal.subject,
        created_at=now, updated_at=now)
    rows = [ImprovementAction(plan_id=plan.id, position=i, org_path=org.path, description=a.description, owner=a.owner,
                              due=a.due, complaint_id=a.complaint_id) for i, a in enumerate(actions)]
    await repo.add(plan, rows)
    return await to_read(repo, plan, rows)


def _complaint_ref(ref: str) -> uuid.UUID:
    try:
        return uuid.UUID(ref)
    except ValueError as exc:
        raise UnprocessableContent("A complaint source names the complaint's id",
                                   errors=[{"field": "source.ref", "message": "unknown case"}]) from exc


async def _check_complaint(sources: PlanSources, caller_token: str, org: OrgInfo, complaint_id: uuid.UUID,
                           field: str) -> dict[str, str] | None:
    """The complaint's corrective action (None: it has none), if the complaint is of the plan's org or
    below it and the caller sees it; otherwise the same 422 whichever way it is not."""
    found = await sources.corrective_action(caller_token, complaint_id)
    if found is None or not OrgPath(org.path).contains(found.org_path):
        raise UnprocessableContent("The plan names a complaint that is not of the plan's organisation",
                                   errors=[{"field": field, "message": "unknown case"}])
    return None if found.corrective_action is None else found.corrective_action.model_dump()


async def _completed(sources: PlanSources, caller_token: str, org: OrgInfo, index: int, body: PlanActionIn) -> _Action:
    field = f"actions[{index}]"
    if body.complaint_id is None:
        assert body.description is not None and body.due is not None  # PlanActionIn's validator
        return _Action(body.description, body.owner, body.due, None)
    corrective = await _check_complaint(sources, caller_token, org, body.complaint_id, f"{field}.complaint_id")
    if body.description is not None and body.due is not None:
        return _Action(body.description, body.owner, body.due, body.complaint_id)
    if corrective is None:
        raise UnprocessableContent("The complaint has no corrective action to take over",
                                   errors=[{"field": f"{field}.complaint_id", "message": "no corrective action"}])
    return _Action(body.description or corrective["description"], body.owner or corrective["owner"],
                   body.due or date.fromisoformat(corrective["due"]), body.complaint_id)


async def _check_owners(repo: PlanRepository, sources: PlanSources, caller_token: str, org: OrgInfo,
                        actions: list[_Action]) -> None:
    """A dealer's plan: every owner an active staff code of the dealer (422 naming each that is not)."""
    if org.kind != "dealer":
        return
    errors = []
    for i, action in enumerate(actions):
        if action.owner is None:
            errors.append({"field": f"actions[{i}].owner", "message": "required"})
        elif not await _active_staff(repo, sources, caller_token, org, action.owner):
            errors.append({"field": f"actions[{i}].owner", "message": "unknown staff member"})
    if errors:
        raise UnprocessableContent("An action's owner is not an active staff member of the dealer", errors=errors)


async def _active_staff(repo: PlanRepository, sources: PlanSources, caller_token: str, org: OrgInfo, code: str) -> bool:
    if await repo.active_staff(org.path, code):
        return True
    # Created a moment ago, its staff.changed still on the way: the customer service knows.
    member = await sources.staff_member(caller_token, org.code, code)
    if member is None or member.org_path != org.path:
        return False
    await repo.remember_staff({"org_path": member.org_path, "code": member.code, "name": member.name,
                               "role": member.role, "active": member.active, "version": member.version})
    return member.active


# --- changes ---------------------------------------------------------------------------------------


async def transition(repo: PlanRepository, plan_id: uuid.UUID, to: str) -> PlanRead:
    plan = await repo.plan(plan_id, for_update=True)
    allowed = TRANSITIONS[plan.status]
    if to not in allowed:
        raise Conflict(f"A plan in {plan.status} cannot move to {to}; allowed: {', '.join(allowed) or 'none'}",
                       allowed=list(allowed), status_now=plan.status)
    plan.status, plan.updated_at = to, utcnow()
    await repo.flush()
    return await read_plan(repo, plan_id)


async def mark_done(repo: PlanRepository, plan_id: uuid.UUID, index: int) -> PlanRead:
    """Mark an action done (once: marking it again changes nothing) and publish improvement.action_done."""
    plan = await repo.plan(plan_id, for_update=True)
    actions = (await repo.actions([plan.id]))[plan.id]
    if index >= len(actions):
        raise NotFound(f"The plan has no action {index} (actions are numbered from 0)")
    action = actions[index]
    if action.done_at is None:
        if plan.status == "closed":
            raise Conflict("A closed plan's actions do not change", status_now=plan.status)
        now = utcnow()
        action.done_at, action.done_by, plan.updated_at = now, repo.principal.subject, now
        await repo.publish(_event(contract.IMPROVEMENT_ACTION_DONE, plan, contract.ImprovementActionDone(
            org_code=plan.org_code, org_path=plan.org_path, plan_id=plan.id, action_index=index,
            description=action.description, complaint_id=action.complaint_id, done_at=now)))
        await repo.flush()
    return await to_read(repo, plan, actions)


def _event(type_: str, plan: ImprovementPlan, payload: contract.ImprovementActionDone | contract.ImprovementActionOverdue
           ) -> CloudEvent:
    return new_event(contract.SOURCE, type_, f"improvement-plans/{plan.id}", payload.model_dump(mode="json"))


# --- the job ---------------------------------------------------------------------------------------


async def run_once(sessions: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    """One pass: store the results of plans due for their re-check (every one whose period has ended
    without a value yet is asked again: plans are written by people, they are few), and publish each
    newly overdue action once (a replica's pass racing this one finds it claimed). Returns how much
    it did."""
    moment = now or utcnow()
    async with sessions() as session, session.begin():
        repo = PlanRepository(session, system_principal())
        checked = 0
        for plan in await repo.unchecked_plans(moment):
            found = await _recheck(repo, plan)
            if found is not None:
                plan.result_value, plan.result_met, plan.result_at = found[0], found[1], moment
                checked += 1
        published = 0
        for action, plan in await repo.overdue_actions(moment.date(), JOB_BATCH):
            if await repo.claim_overdue(action, moment):
                published += 1
                await repo.publish(_event(contract.IMPROVEMENT_ACTION_OVERDUE, plan, contract.ImprovementActionOverdue(
                    org_code=plan.org_code, org_path=plan.org_path, plan_id=plan.id, kpi=plan.kpi, period=plan.period,
                    action_index=action.position, description=action.description, owner=action.owner, due=action.due,
                    found_at=moment)))
    return checked + published
