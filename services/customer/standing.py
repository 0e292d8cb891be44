"""Lifecycle and value (issue 16): the daily job that recomputes where every customer stands,
the visit events that keep one customer current in between, the `lifecycle.changed` events,
and the win-back follow-ups for at-risk customers. The rules are lifecycle.py's; the SQL is
repository_standing.py's."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.customer import domain, events
from services.customer.desk import DeskDirectory
from services.customer.followups import _task, schedule_many
from services.customer.repository_standing import StandingRepository
from shared.auth import system_principal
from shared.consumer import EventHandler
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.events import CloudEvent

logger = logging.getLogger("csloop.customer.standing")

WIN_BACK_PAGE = 1000


@dataclass(frozen=True)
class RunResult:
    customers: int
    changed: int
    win_backs: int


async def refresh_all(sessions: Callable[[], AsyncSession], now: datetime) -> RunResult:
    """One run of the daily job: every customer's standing, then the win-back follow-ups."""
    customers, changed = await refresh_standing(sessions, now)
    return RunResult(customers, changed, await make_win_backs(sessions, now))


async def refresh_standing(sessions: Callable[[], AsyncSession], now: datetime) -> tuple[int, int]:
    """Every customer's standing recomputed in one transaction, and the lifecycle changes
    published: (customers written, changes). Idempotent: a second run at the same moment changes
    nothing and publishes nothing. Another process's run under way (several replicas start the
    job at once): this one does nothing."""
    async with sessions() as session, session.begin():
        repo = StandingRepository(session, system_principal())
        if not await repo.claim_run():
            return 0, 0
        await repo.stage(now)
        return await _write_and_publish(repo, now)


async def refresh_customer(session: AsyncSession, customer_id: uuid.UUID, now: datetime) -> None:
    """One customer's lifecycle and figures after a visit, in the event's transaction. The RFM
    score and segment stay as the last daily run ranked them within the dealer."""
    repo = StandingRepository(session, system_principal())
    await repo.stage(now, customer_id)
    await _write_and_publish(repo, now)


async def _write_and_publish(repo: StandingRepository, now: datetime) -> tuple[int, int]:
    """Write the staged standing and publish the lifecycle changes the write made (not every one the
    stage differs in: another replica's transaction may have made it meanwhile, repo.write_staged);
    (rows written, changes published)."""
    changes = await repo.changes()
    written, moved = await repo.write_staged(now)
    await repo.publish_all([events.lifecycle_changed(row, now) for row in changes if row.customer_id in moved])
    return written, sum(row.customer_id in moved for row in changes)


def win_back_key(customer_id: uuid.UUID, last_visit_at: datetime) -> str:
    """One win-back per lapse: the lapse is known by the visit it follows."""
    return domain.followup_key("win_back", customer_id, last_visit_at.strftime("%Y%m%dT%H%M%S"))


async def make_win_backs(sessions: Callable[[], AsyncSession], now: datetime) -> int:
    """A `win_back` follow-up, due now, for each at-risk customer who accepts marketing and has
    none for this lapse yet. A page of customers per transaction, its existing tasks found in
    one query (as the holiday greetings), the new ones and their events written set-based (a
    first run at a million customers makes tens of thousands)."""
    made = 0
    after: uuid.UUID | None = None
    while True:
        async with sessions() as session, session.begin():
            repo = StandingRepository(session, system_principal())
            page = await repo.win_back_candidates(after, WIN_BACK_PAGE)
            wanted = {win_back_key(row.customer_id, row.last_visit_at): row for row in page}
            made += await schedule_many(repo, DeskDirectory(repo), "win_back", [
                _task("win_back", key, wanted[key].dealer_code, wanted[key].org_path, now,
                      customer_id=wanted[key].customer_id)
                for key in sorted(wanted.keys() - await repo.existing_followup_keys(list(wanted)))])
        if len(page) < WIN_BACK_PAGE:
            return made
        after = page[-1].customer_id


async def daily_pass(sessions: Callable[[], AsyncSession]) -> None:
    result = await refresh_all(sessions, utcnow())
    logger.info("standing of %d customers recomputed: %d lifecycle changes, %d win-back follow-ups",
                result.customers, result.changed, result.win_backs)


def with_visit_standing(handlers: dict[str, EventHandler]) -> dict[str, EventHandler]:
    """The service's event handlers, service_visit.closed also bringing its customer's standing
    up to date (after whatever the handler did with the visit, in the same transaction)."""
    before = handlers.get(contract.SERVICE_VISIT_CLOSED)

    async def on_visit_closed(session: AsyncSession, event: CloudEvent) -> None:
        if before is not None:
            await before(session, event)
        data = contract.ServiceVisitClosed.model_validate(event.data)
        await refresh_customer(session, data.customer_id, utcnow())

    return handlers | {contract.SERVICE_VISIT_CLOSED: on_visit_closed}
