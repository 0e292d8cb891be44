"""Sent events, their deliveries and processed-event ids are pruned after the retention period, and only they."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import new_metadata, utcnow
from shared.events import new_event
from shared.outbox import outbox_row
from shared.retention import EventHousekeeping
from shared.service_app import plumbing_tables
from tests.support.databases import sessions_on_tables

METADATA = new_metadata()
TABLES = plumbing_tables(METADATA)
RETENTION = timedelta(days=7)


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "housekeeping", METADATA) as made:
        yield made


async def _event(session: AsyncSession, *, handed_over_days_ago: float | None, deliveries: dict[str, float | None]) -> int:
    """An outbox row handed over that many days ago (None: not yet), with deliveries sent that many days ago (None: pending)."""
    now = utcnow()
    row = outbox_row(new_event("/test", "note.created", None, {}))
    if handed_over_days_ago is not None:
        row["sent_at"] = now - timedelta(days=handed_over_days_ago)
    seq = (await session.execute(insert(TABLES.outbox).values(row).returning(TABLES.outbox.c.seq))).scalar_one()
    for subscriber, days_ago in deliveries.items():
        await session.execute(insert(TABLES.outbox_deliveries).values(
            seq=seq, subscriber=subscriber, attempts=0, next_attempt_at=now,
            sent_at=None if days_ago is None else now - timedelta(days=days_ago)))
    return seq


async def _seqs(session: AsyncSession) -> set[int]:
    return set((await session.scalars(select(TABLES.outbox.c.seq))).all())


async def test_only_what_is_done_and_older_than_the_retention_period_goes(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await _event(session, handed_over_days_ago=9, deliveries={"a": 9, "b": 8})
        recent = await _event(session, handed_over_days_ago=1, deliveries={"a": 1})
        one_still_pending = await _event(session, handed_over_days_ago=9, deliveries={"a": 9, "b": None})
        not_handed_over = await _event(session, handed_over_days_ago=None, deliveries={})
        await _event(session, handed_over_days_ago=8, deliveries={})
        now = utcnow()
        await session.execute(insert(TABLES.processed_events), [
            {"event_id": "old", "type": "x", "processed_at": now - timedelta(days=8)},
            {"event_id": "new", "type": "x", "processed_at": now - timedelta(days=6)}])

    await EventHousekeeping(sessions, RETENTION, processed=TABLES.processed_events, outbox=TABLES.outbox,
                            deliveries=TABLES.outbox_deliveries).prune_once()

    async with sessions() as session:
        assert await _seqs(session) == {recent, one_still_pending, not_handed_over}
        kept = (await session.execute(select(TABLES.outbox_deliveries.c.seq, TABLES.outbox_deliveries.c.subscriber))).all()
        assert sorted(kept) == [(recent, "a"), (one_still_pending, "b")]
        assert (await session.scalars(select(TABLES.processed_events.c.event_id))).all() == ["new"]

    # Once its last delivery is made (and is old enough), the event goes too.
    async with sessions() as session, session.begin():
        await session.execute(update(TABLES.outbox_deliveries).where(TABLES.outbox_deliveries.c.seq == one_still_pending)
                              .values(sent_at=utcnow() - timedelta(days=8)))
    await EventHousekeeping(sessions, RETENTION, processed=TABLES.processed_events, outbox=TABLES.outbox,
                            deliveries=TABLES.outbox_deliveries).prune_once()
    async with sessions() as session:
        assert await _seqs(session) == {recent, not_handed_over}


async def test_a_large_backlog_goes_in_batches_a_full_one_asking_for_the_next_pass_at_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        old = utcnow() - timedelta(days=30)
        await session.execute(insert(TABLES.processed_events),
                              [{"event_id": f"e{n}", "type": "x", "processed_at": old} for n in range(25)])
    housekeeping = EventHousekeeping(sessions, RETENTION, processed=TABLES.processed_events, batch_size=10)
    assert [await housekeeping.prune_once() for _ in range(4)] == [10, 10, 5, 0]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TABLES.processed_events)) == 0
