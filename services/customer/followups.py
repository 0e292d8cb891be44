"""Prospects and follow-up tasks: the tasks events make, completing them, the birthday job."""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.customer import domain, events
from services.customer.dealers import dealer_for_write
from services.customer.models import FollowUp, Prospect
from services.customer.repository import CustomerRepository
from services.customer.schemas import FollowUpComplete, ProspectCreate, ProspectUpdate
from services.customer.settings import CustomerSettings
from shared.auth import system_principal
from shared.consumer import EventHandler
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.etag import check_version
from shared.events import CloudEvent
from shared.orgs import OrgDirectory
from shared.problems import Conflict

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


async def complete_followup(repo: CustomerRepository, policy: domain.FollowUpPolicy, followup_id: uuid.UUID,
                            data: FollowUpComplete) -> FollowUp:
    followup = await repo.get_visible(FollowUp, followup_id, missing=f"No follow-up {followup_id}")
    if followup.status != "open":
        raise Conflict(f"This follow-up is {followup.status}, not open")
    followup.status, followup.outcome, followup.note = "done", data.outcome, data.note
    followup.completed_at, followup.completed_by = utcnow(), repo.principal.subject
    await repo.flush()
    await repo.publish(events.followup_completed(followup))
    if followup.kind == "prospect" and followup.prospect_id and data.outcome.lower() not in FINAL_PROSPECT_OUTCOMES:
        await _next_prospect_call(repo, policy, followup)
    return followup


async def _next_prospect_call(repo: CustomerRepository, policy: domain.FollowUpPolicy, done: FollowUp) -> None:
    """A prospect is called on a cadence: completing one call schedules the next."""
    prospect = await repo.prospect(done.prospect_id)  # type: ignore[arg-type]
    if prospect is None:
        return
    assert done.completed_at is not None
    await _schedule(repo, _task(
        "prospect", domain.followup_key("prospect", prospect.id, "after", done.id), prospect.dealer_code,
        prospect.org_path, policy.prospect_due(prospect.level, done.completed_at), prospect_id=prospect.id,
    ))


def _task(kind: str, key: str, dealer_code: str, org_path: str, due_at: datetime, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "dedupe_key": key, "dealer_code": dealer_code, "org_path": org_path,
            "due_at": due_at, "now": utcnow(), **extra}


async def _schedule(repo: CustomerRepository, task: dict[str, Any]) -> bool:
    """Add the task unless it exists, and say so (followup.scheduled: on-time rates need due times)."""
    followup_id = await repo.add_followup_once(task)
    if followup_id is None:
        return False
    await repo.publish(events.followup_scheduled(followup_id, task))
    return True


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
    }


async def on_vehicle_delivered(repo: CustomerRepository, policy: domain.FollowUpPolicy, event: CloudEvent) -> None:
    data = contract.VehicleDelivered.model_validate(event.data)
    await _schedule(repo, _task(
        "new_car", domain.followup_key("new_car", data.delivery_id), data.dealer_code, data.org_path,
        policy.new_car_due(data.delivered_at), customer_id=data.customer_id, vin=data.vin,
    ))


async def on_service_visit_closed(repo: CustomerRepository, policy: domain.FollowUpPolicy, event: CloudEvent) -> None:
    data = contract.ServiceVisitClosed.model_validate(event.data)
    if not policy.makes_service_followup(data.visit_type):
        return
    await _schedule(repo, _task(
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
    made = 0
    for customer in await repo.birthday_customers(domain.birthday_month_days(today)):
        made += await _schedule(repo, _task(
            "birthday", domain.followup_key("birthday", customer.id, today.year), customer.dealer_code,
            customer.org_path, domain.start_of_day(today), customer_id=customer.id,
        ))
    return made
