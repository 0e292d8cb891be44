"""Prospects and follow-up tasks: the tasks events make, assigning them, the attempts that end
them (done, unreachable, or an issue for the complaint service), the birthday and holiday jobs."""

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.customer import domain, events, holidays, interactions
from services.customer.dealers import dealer_for_write
from services.customer.desk import DeskDirectory
from services.customer.models import FollowUp, FollowUpAttempt, Prospect, ServiceVisit
from services.customer.repository import CustomerRepository
from services.customer.repository_loop import LoopCustomerRepository
from services.customer.schemas import (
    FollowUpAssign, FollowUpAttemptCreate, FollowUpComplete, ProspectCreate, ProspectUpdate,
)
from services.customer.settings import CustomerSettings
from services.customer.staff import require_staff_code
from shared.auth import system_principal
from shared.consumer import EventHandler
from shared.contracts import complaint as complaint_contract
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.etag import check_version
from shared.events import CloudEvent
from shared.orgs import OrgDirectory
from shared.problems import Conflict, UnprocessableContent

# A bulletin reminder is due a day after the acknowledgement was: due at once, every such task
# would be late (followup_on_time) before the manager saw it.
BULLETIN_TASK_TIME = timedelta(days=1)
# Outcomes after which a prospect is no longer followed up (bought, or lost to us).
FINAL_PROSPECT_OUTCOMES = frozenset({"purchased", "converted", "lost", "closed"})


def policy_from(settings: CustomerSettings) -> domain.FollowUpPolicy:
    return domain.FollowUpPolicy(
        new_car_days=settings.new_car_followup_days, service_days=settings.service_followup_days,
        prospect_cadence_days=tuple(sorted(settings.prospect_cadence_days.items())),
        service_visit_types=frozenset(settings.service_followup_visit_types),
    )


# --- prospects -------------------------------------------------------------------------------


async def create_prospect(repo: CustomerRepository, directory: OrgDirectory, data: ProspectCreate) -> Prospect:
    dealer = await dealer_for_write(repo.principal, directory, data.dealer_code)
    prospect = Prospect(dealer_code=dealer.code, org_path=dealer.path, version=1,
                        **data.model_dump(exclude={"dealer_code"}))
    prospect.updated_at = utcnow()
    await repo.add(prospect)
    await repo.publish(events.prospect_changed(prospect, created=True))
    return prospect


async def update_prospect(repo: CustomerRepository, prospect_id: uuid.UUID, data: ProspectUpdate,
                          if_match: str | None) -> Prospect:
    prospect = await repo.get_visible(Prospect, prospect_id)
    check_version(if_match, prospect.version)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(prospect, name, value)
    prospect.version += 1
    prospect.updated_at = utcnow()
    await repo.flush()
    await repo.publish(events.prospect_changed(prospect, created=False))
    return prospect


# --- follow-ups --------------------------------------------------------------------------------


async def _open_followup(repo: CustomerRepository, followup_id: uuid.UUID) -> FollowUp:
    """The follow-up, locked, if it still takes work (409 once done, unreachable or cancelled)."""
    followup = await repo.followup_for_update(followup_id)
    if followup.status != "open":
        raise Conflict(f"This follow-up is {followup.status}, not open")
    return followup


async def assign_followup(repo: CustomerRepository, followup_id: uuid.UUID, data: FollowUpAssign) -> FollowUp:
    """Put an open task on a staff member's call list (an active staff code of its dealer)."""
    followup = await _open_followup(repo, followup_id)
    await require_staff_code(repo, followup.dealer_code, "assignee", data.assignee)
    if followup.assignee != data.assignee:
        followup.assignee, followup.updated_at = data.assignee, utcnow()
        await repo.flush()
        await repo.publish(events.followup_assigned(followup.id, _fields(followup), followup.updated_at))
    return followup


def _fields(followup: FollowUp) -> dict[str, Any]:
    return {"kind": followup.kind, "dealer_code": followup.dealer_code, "org_path": followup.org_path,
            "customer_id": followup.customer_id, "prospect_id": followup.prospect_id, "due_at": followup.due_at,
            "assignee": followup.assignee}


async def complete_followup(repo: CustomerRepository, policy: domain.FollowUpPolicy, followup_id: uuid.UUID,
                            data: FollowUpComplete) -> FollowUp:
    """The legacy completion (an outcome text): a reached call without a satisfaction (KPI.md)."""
    followup = await _open_followup(repo, followup_id)
    followup.status, followup.outcome, followup.note = "done", data.outcome, data.note
    followup.reached, followup.satisfaction, followup.issue_codes = True, None, []
    followup.completed_at, followup.completed_by = utcnow(), repo.principal.subject
    followup.updated_at = followup.completed_at
    await repo.flush()
    await repo.publish(events.followup_completed(followup))
    if followup.kind == "prospect" and followup.prospect_id and data.outcome.lower() not in FINAL_PROSPECT_OUTCOMES:
        await _next_prospect_call(repo, policy, followup)
    return followup


async def record_attempt(repo: CustomerRepository, policy: domain.FollowUpPolicy, followup_id: uuid.UUID,
                         data: FollowUpAttemptCreate) -> FollowUp:
    """One call made for an open task, kept with the contact it was (an interaction).

    Reached: the task is done with the result; a dissatisfied result also publishes
    followup.issue_found, from which the complaint service opens the case. Not reached for
    the task's max_attempts-th time: the task ends unreachable (followup.unreachable), so an
    SMS or a letter can go instead. The row lock makes each of these happen once."""
    followup = await _open_followup(repo, followup_id)
    _check_result(followup, data)
    await require_staff_code(repo, followup.dealer_code, "agent", data.agent)
    now = utcnow()
    agent = data.agent or followup.assignee
    contact = await interactions.record_attempt_contact(repo, followup, channel=data.channel, agent=agent,
                                                        summary=data.note, at=now)
    attempt = FollowUpAttempt(
        dealer_code=followup.dealer_code, org_path=followup.org_path, followup_id=followup.id, attempted_at=now,
        reached=data.reached, channel=data.channel, satisfaction=data.satisfaction, issue_codes=data.issue_codes,
        note=data.note, agent=agent, interaction_id=contact.id, created_at=now, updated_at=now)
    await repo.add(attempt)
    followup.attempts += 1
    followup.updated_at = now
    if data.reached:
        followup.status, followup.reached = "done", True
        followup.satisfaction, followup.issue_codes = data.satisfaction, data.issue_codes
        followup.outcome, followup.note = data.satisfaction or "reached", data.note
        followup.completed_at, followup.completed_by = now, repo.principal.subject
    elif followup.attempts >= followup.max_attempts:
        followup.status, followup.reached = "unreachable", False
        followup.completed_at, followup.completed_by = now, repo.principal.subject
    await repo.flush()
    if followup.status == "done":
        await repo.publish(events.followup_completed(followup))
        if data.satisfaction == "dissatisfied":
            await repo.publish(events.followup_issue_found(followup, attempt, *await _visited(repo, followup)))
        if followup.kind == "prospect" and followup.prospect_id:
            await _next_prospect_call(repo, policy, followup)
    elif followup.status == "unreachable":
        await repo.publish(events.followup_unreachable(followup))
    return followup


async def _visited(repo: CustomerRepository, followup: FollowUp) -> tuple[str | None, ServiceVisit | None]:
    """The vehicle's model and the visit (by RO number) the call followed, as the dealer has them."""
    vehicle = await repo.dealer_vehicle(followup.dealer_code, followup.vin) if followup.vin else None
    visit = await repo.visit_by_ro(followup.dealer_code, followup.ro_number) if followup.ro_number else None
    return (vehicle.model if vehicle else None), visit


def _check_result(followup: FollowUp, data: FollowUpAttemptCreate) -> None:
    """What the body says must fit whether the customer was reached, and the task's kind: a
    call's answer is measured (KPI.md), so a reached call says how satisfied the customer was."""
    errors = []
    if data.reached and data.satisfaction is None and followup.kind in contract.CALL_KINDS:
        errors.append({"field": "satisfaction", "message": "required when the customer was reached on a call"})
    if not data.reached and data.satisfaction is not None:
        errors.append({"field": "satisfaction", "message": "only for a reached customer"})
    if data.issue_codes and data.satisfaction != "dissatisfied":
        errors.append({"field": "issue_codes", "message": "only with satisfaction dissatisfied"})
    if len(set(data.issue_codes)) != len(data.issue_codes):
        errors.append({"field": "issue_codes", "message": "a code is repeated"})
    if errors:
        raise UnprocessableContent("The result does not fit the attempt", errors=errors)


async def attempts_of(repo: CustomerRepository, followup_id: uuid.UUID) -> tuple[FollowUp, list[FollowUpAttempt]]:
    followup = await repo.get_visible(FollowUp, followup_id, missing=f"No follow-up {followup_id}")
    return followup, await repo.followup_attempts(followup.id)


async def _next_prospect_call(repo: CustomerRepository, policy: domain.FollowUpPolicy, done: FollowUp) -> None:
    """A prospect is called on a cadence: completing one call schedules the next."""
    prospect = await repo.prospect(done.prospect_id)  # type: ignore[arg-type]
    if prospect is None:
        return
    assert done.completed_at is not None
    await _schedule(repo, _task(
        "prospect", domain.followup_key("prospect", prospect.id, "after", done.id), prospect.dealer_code,
        prospect.org_path, policy.prospect_due(prospect.level, done.completed_at), prospect_id=prospect.id,
        assignee=done.assignee,
    ))


def _task(kind: str, key: str, dealer_code: str, org_path: str, due_at: datetime, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "dedupe_key": key, "dealer_code": dealer_code, "org_path": org_path,
            "due_at": due_at, "now": utcnow(), **extra}


async def _schedule(repo: CustomerRepository, task: dict[str, Any], desk: DeskDirectory | None = None) -> bool:
    """Add the task unless it exists, and say so (followup.scheduled: on-time rates need due times).

    It takes the dealer's desk settings: max_attempts, and the default assignee of its kind
    unless the task names one (a prospect's next call stays with whoever made the last);
    an assigned task also publishes followup.assigned."""
    task = await _with_desk(desk or DeskDirectory(repo), task)
    followup_id = await repo.add_followup_once(task)
    if followup_id is None:
        return False
    await repo.publish(*_scheduled_events(followup_id, task))
    return True


async def schedule_many(repo: CustomerRepository, desk: DeskDirectory, kind: str, tasks: list[dict[str, Any]]) -> int:
    """_schedule for many tasks of one kind (a job's page), set-based: the desk settings of their
    dealers read at once, the tasks inserted in one statement and the events of those that did
    not exist yet in another, in the tasks' order; how many were added."""
    await desk.load({task["dealer_code"] for task in tasks}, kind)
    tasks = [await _with_desk(desk, task) for task in tasks]
    added = await repo.add_followups_once(tasks)
    await repo.publish_all([event for task in tasks if task["dedupe_key"] in added
                            for event in _scheduled_events(added[task["dedupe_key"]], task)])
    return len(added)


async def _with_desk(desk: DeskDirectory, task: dict[str, Any]) -> dict[str, Any]:
    """The task with its dealer's max_attempts, and its assignee (the one it names, else its kind's default)."""
    task = dict(task)
    assignee = await desk.default_assignee(task["dealer_code"], task["kind"], task.pop("assignee", None))
    return task | {"assignee": assignee, "max_attempts": (await desk.of(task["dealer_code"])).max_attempts}


def _scheduled_events(followup_id: uuid.UUID, task: dict[str, Any]) -> list[CloudEvent]:
    scheduled = [events.followup_scheduled(followup_id, task)]
    if task["assignee"] is not None:
        scheduled.append(events.followup_assigned(followup_id, task, task["now"]))
    return scheduled


# --- tasks made by events (consumed through /internal/events) ---------------------------------


def event_handlers(settings: CustomerSettings) -> dict[str, EventHandler]:
    policy = policy_from(settings)

    def handler(apply: Callable[[CustomerRepository, domain.FollowUpPolicy, CloudEvent], Any]) -> EventHandler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            await apply(CustomerRepository(session, system_principal()), policy, event)
        return handle

    return {
        contract.VEHICLE_DELIVERED: handler(on_vehicle_delivered),
        contract.SERVICE_VISIT_CLOSED: handler(on_service_visit_closed),
        contract.PROSPECT_CREATED: handler(on_prospect_changed),
        contract.PROSPECT_UPDATED: handler(on_prospect_changed),
        complaint_contract.BULLETIN_OVERDUE: on_bulletin_overdue,
        complaint_contract.RECALL_VIN_ASSIGNED: on_recall_vins_assigned,
    }


async def on_bulletin_overdue(session: AsyncSession, event: CloudEvent) -> None:
    """A bulletin the dealer has not acknowledged: a task with no customer, on its manager's list."""
    data = complaint_contract.BulletinOverdue.model_validate(event.data)
    repo = LoopCustomerRepository(session, system_principal())
    manager = await repo.manager_code(data.dealer_code)
    await _schedule(repo, _task("bulletin", domain.followup_key("bulletin", data.bulletin_id, data.dealer_code),
                                data.dealer_code, data.org_path, data.due_at + BULLETIN_TASK_TIME, assignee=manager,
                                note=f"Acknowledge bulletin: {data.title}"[:4000]))


async def on_recall_vins_assigned(session: AsyncSession, event: CloudEvent) -> None:
    """A recall call per affected VIN whose owner on the dealer's file can be called (a phone);
    a recall is a safety duty, so no marketing consent is asked, as for service calls."""
    data = complaint_contract.RecallVinAssigned.model_validate(event.data)
    if data.dealer_code is None:
        return
    repo = LoopCustomerRepository(session, system_principal())
    owners = await repo.contactable_owners(data.dealer_code, data.vins)
    desk = DeskDirectory(repo)
    for vin in data.vins:
        if vin in owners:
            await _schedule(repo, desk=desk, task=_task(
                "recall", domain.followup_key("recall", data.recall_code, vin), data.dealer_code, data.org_path,
                data.assigned_at, customer_id=owners[vin], vin=vin, note=f"Recall {data.recall_code}: {data.title}"[:4000]))


async def on_vehicle_delivered(repo: CustomerRepository, policy: domain.FollowUpPolicy, event: CloudEvent) -> None:
    data = contract.VehicleDelivered.model_validate(event.data)
    await _schedule(repo, _task(
        "new_car", domain.followup_key("new_car", data.delivery_id), data.dealer_code, data.org_path,
        policy.new_car_due(data.delivered_at), customer_id=data.customer_id, vin=data.vin,
    ))


async def on_service_visit_closed(repo: CustomerRepository, policy: domain.FollowUpPolicy, event: CloudEvent) -> None:
    data = contract.ServiceVisitClosed.model_validate(event.data)
    desk = DeskDirectory(repo)
    settings = await desk.of(data.dealer_code)
    if not policy.makes_service_followup(data.visit_type, maintenance_followups=settings.maintenance_followups):
        return
    await _schedule(repo, desk=desk, task=_task(
        "service", domain.followup_key("service", data.visit_id), data.dealer_code, data.org_path,
        policy.service_due(data.closed_at), customer_id=data.customer_id, vin=data.vin, ro_number=data.ro_number,
    ))


async def on_prospect_changed(repo: CustomerRepository, policy: domain.FollowUpPolicy, event: CloudEvent) -> None:
    """A new prospect gets its first call; a level change moves the open call to the new cadence."""
    data = contract.ProspectChanged.model_validate(event.data)
    due = policy.prospect_due(data.level, data.changed_at)
    open_calls = await repo.open_prospect_followups(data.prospect_id)
    for call in open_calls:
        call.due_at = due
        await repo.publish(events.followup_scheduled(call.id, {
            "kind": call.kind, "dealer_code": call.dealer_code, "org_path": call.org_path,
            "prospect_id": call.prospect_id, "due_at": due}))
    if not open_calls:
        await _schedule(repo, _task(
            "prospect", domain.followup_key("prospect", data.prospect_id, event.id), data.dealer_code,
            data.org_path, due, prospect_id=data.prospect_id,
        ))
    await repo.flush()


async def create_birthday_followups(session: AsyncSession, today: date) -> int:
    """Birthday greeting tasks for today; one per customer per year, however often it runs."""
    repo = CustomerRepository(session, system_principal())
    desk = DeskDirectory(repo)
    made = 0
    for customer in await repo.birthday_customers(domain.birthday_month_days(today)):
        made += await _schedule(repo, desk=desk, task=_task(
            "birthday", domain.followup_key("birthday", customer.id, today.year), customer.dealer_code,
            customer.org_path, domain.start_of_day(today), customer_id=customer.id,
        ))
    return made


HOLIDAY_PAGE = 1000


async def create_holiday_followups(sessions: Callable[[], AsyncSession], today: date, lead_days: int,
                                   names: frozenset[str]) -> int:
    """Holiday greeting tasks for the holidays starting within `lead_days` of today, for every
    customer who accepts marketing (DOMAIN.md care): due on the holiday's first day off (holidays.py),
    one per customer per holiday occurrence however often it runs. Customers are read a page at a time, each
    page in its own transaction, so a network of a million customers is not one transaction,
    and a page's existing tasks are found in one query, so the hourly re-runs stay cheap."""
    coming = holidays.holidays_starting(today, today + timedelta(days=lead_days), names)
    made = 0
    after: uuid.UUID | None = None
    while coming:
        async with sessions() as session, session.begin():
            repo = CustomerRepository(session, system_principal())
            desk = DeskDirectory(repo)
            customers = await repo.marketing_customers(after, HOLIDAY_PAGE)
            wanted = {domain.followup_key("holiday", customer.id, holidays.slug(holiday.name), holiday.year):
                      (customer, holiday.greet_on) for customer in customers for holiday in coming}
            for key in wanted.keys() - await repo.existing_followup_keys(list(wanted)):
                customer, greet_on = wanted[key]
                made += await _schedule(repo, desk=desk, task=_task(
                    "holiday", key, customer.dealer_code, customer.org_path, domain.start_of_day(greet_on),
                    customer_id=customer.id,
                ))
        if len(customers) < HOLIDAY_PAGE:
            break
        after = customers[-1].id
    return made
