"""Countermeasure bulletins: the manufacturer or a distributor tells every dealer below it what
to do about a quality problem (optionally answering a quality signal of its subtree); each
dealer acknowledges once; the sender sees who has not.

A dealer that has not acknowledged by the close of the third working day after publication
(its SLA calendar: the nearest SLA policy's calendar, as its cases use) is reported once as
`bulletin.overdue`; the customer service turns that into a follow-up for the dealer's manager.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.complaint import events
from services.complaint.models import Bulletin
from services.complaint.repository import ComplaintRepository
from services.complaint.repository_loop import LoopRepository
from services.complaint.schemas import BulletinAckRead, BulletinAcksRead, BulletinCreate, BulletinRead
from services.complaint.sla.business_hours import Calendar, working_days_end
from shared.auth import system_principal
from shared.db import utcnow
from shared.orgs import OrgDirectory, OrgInfo
from shared.pagination import PageParams
from shared.problems import Conflict, Forbidden, UnprocessableContent

ACK_DAYS = 3
# Bulletins older than this get no more reminders: a dealer closed since, or added later, is
# not chased for last season's countermeasure by every pass.
REMINDER_LOOKBACK = timedelta(days=60)


def to_read(bulletin: Bulletin, acknowledged: bool | None = None) -> BulletinRead:
    return BulletinRead.model_validate(bulletin, from_attributes=True).model_copy(update={"acknowledged": acknowledged})


async def publish(repo: LoopRepository, data: BulletinCreate) -> BulletinRead:
    principal = repo.principal
    if principal.org_kind not in ("manufacturer", "distributor"):
        raise Forbidden("Bulletins are published by the manufacturer or a distributor")
    if data.signal_id is not None and not await repo.signal_visible(data.signal_id):
        raise UnprocessableContent("unknown quality signal", errors=[{"field": "signal_id", "message": "unknown quality signal"}])
    bulletin = Bulletin(id=uuid.uuid4(), org_code=principal.org_code, org_path=principal.org_path, title=data.title,
                        body=data.body, models=sorted(set(data.models)), symptom_codes=sorted(set(data.symptom_codes)),
                        signal_id=data.signal_id, created_by=principal.subject, created_at=utcnow())
    await repo.add(bulletin)
    await repo.publish(events.bulletin_published(bulletin))
    return to_read(bulletin)


def _dealer(repo: LoopRepository) -> str | None:
    return repo.principal.org_code if repo.principal.org_kind == "dealer" else None


async def list_bulletins(repo: LoopRepository, page: PageParams,
                         unacknowledged: bool) -> tuple[list[BulletinRead], str | None]:
    dealer = _dealer(repo)
    if unacknowledged and dealer is None:
        raise UnprocessableContent("unacknowledged filters a dealer's own bulletins; the sender reads "
                                   "GET /v1/bulletins/{id}/acks", errors=[{"field": "unacknowledged",
                                                                           "message": "only dealers acknowledge"}])
    rows, cursor = await repo.bulletins(page, dealer if unacknowledged else None)
    if dealer is None:
        return [to_read(row) for row in rows], cursor
    acked = await repo.acknowledged([row.id for row in rows], dealer)
    return [to_read(row, row.id in acked) for row in rows], cursor


async def read(repo: LoopRepository, bulletin_id: uuid.UUID) -> BulletinRead:
    bulletin = await repo.bulletin(bulletin_id)
    dealer = _dealer(repo)
    if dealer is None:
        return to_read(bulletin)
    return to_read(bulletin, bool(await repo.acknowledged([bulletin.id], dealer)))


async def acknowledge(repo: LoopRepository, bulletin_id: uuid.UUID) -> BulletinAckRead:
    """The caller's dealership reads the bulletin; only for itself, once. A bulletin from outside
    its line (a sibling distributor's) does not exist for it (404)."""
    principal = repo.principal
    # Found first: a bulletin outside the caller's line is a 404 whoever asks, never a 403 that tells it exists.
    bulletin = await repo.bulletin(bulletin_id)
    if principal.org_kind != "dealer":
        raise Forbidden("Only the addressed dealers acknowledge a bulletin")
    values = {"bulletin_id": bulletin.id, "dealer_code": principal.org_code, "org_path": principal.org_path,
              "acknowledged_by": principal.subject, "acknowledged_at": utcnow()}
    if not await repo.record_ack(values):
        raise Conflict(f"{principal.org_code} already acknowledged this bulletin")
    return BulletinAckRead(dealer_code=principal.org_code, acknowledged_by=principal.subject,
                           acknowledged_at=values["acknowledged_at"])


async def _addressed(directory: OrgDirectory, bulletin: Bulletin) -> list[OrgInfo]:
    return sorted((org for org in await directory.subtree(bulletin.org_path) if org.kind == "dealer"),
                  key=lambda org: org.code)


async def acks(repo: LoopRepository, directory: OrgDirectory, bulletin_id: uuid.UUID) -> BulletinAcksRead:
    """Who has and has not read it: for the sender and the orgs above it only."""
    bulletin = await repo.bulletin(bulletin_id)
    if not bulletin.org_path.startswith(repo.principal.path.prefix):
        raise Forbidden("Only the sender and the orgs above it see who read a bulletin")
    read_by = await repo.acks(bulletin.id)
    acked = {ack.dealer_code for ack in read_by}
    return BulletinAcksRead(
        bulletin_id=bulletin.id,
        acknowledged=[BulletinAckRead.model_validate(ack, from_attributes=True) for ack in read_by],
        unacknowledged=[org.code for org in await _addressed(directory, bulletin) if org.code not in acked])


async def _calendar(repo: ComplaintRepository, dealer_path: str) -> Calendar | None:
    """The dealer's working calendar: the nearest SLA policy that sets one (None: around the clock)."""
    with_calendar = [policy for policy in await repo.governing_policies(dealer_path) if policy.calendar]
    nearest = max(with_calendar, key=lambda policy: len(policy.org_path), default=None)
    return Calendar.model_validate(nearest.calendar) if nearest else None


async def remind_overdue(sessions: async_sessionmaker[AsyncSession], directory: OrgDirectory,
                         now: datetime | None = None) -> int:
    """One pass of the reminder job (every replica runs it; the reminder's key makes each sent
    once); each bulletin in its own transaction. Returns how many reminders it sent."""
    moment = now or utcnow()
    # Three working days never end before three calendar days have passed.
    async with sessions() as session:
        candidates = [bulletin.id for bulletin in await LoopRepository(session, system_principal())
                      .reminder_candidates(moment - timedelta(days=ACK_DAYS), moment - REMINDER_LOOKBACK)]
    sent = 0
    for bulletin_id in candidates:
        async with sessions() as session, session.begin():
            repo = LoopRepository(session, system_principal())
            bulletin = await repo.bulletin(bulletin_id)
            settled = await repo.settled_dealers(bulletin.id)
            for dealer in await _addressed(directory, bulletin):
                if dealer.code in settled:
                    continue
                due = working_days_end(bulletin.created_at, ACK_DAYS,
                                       await _calendar(ComplaintRepository(session, repo.principal), dealer.path))
                if due > moment:
                    continue
                if await repo.record_reminder({"bulletin_id": bulletin.id, "dealer_code": dealer.code,
                                               "org_path": dealer.path, "due_at": due, "sent_at": moment}):
                    await repo.publish(events.bulletin_overdue(bulletin, dealer.code, dealer.path, due))
                    sent += 1
    return sent
