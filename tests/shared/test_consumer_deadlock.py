"""Two batches that take the same rows in opposite orders, at once (two replicas' consumers): one
loses PostgreSQL's deadlock and is tried again at once, so each event's effect lands once and no
batch falls back to event-by-event (shared/consumer.py DEADLOCK_DETECTED)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.consumer import EventConsumer, processed_events_table
from shared.db import new_metadata
from shared.events import CloudEvent, new_event
from tests.support.databases import postgres_base_url, sessions_on_tables

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="a deadlock between two transactions is PostgreSQL's")

METADATA = new_metadata()
COUNTERS = Table("deadlock_counters", METADATA, Column("id", Integer, primary_key=True), Column("n", Integer, nullable=False))
PROCESSED = processed_events_table(METADATA)


class Crossing:
    """Each batch's first event bumps its row, then waits until the other batch has bumped its own:
    both second events then want the row the other holds."""

    def __init__(self) -> None:
        self.first_done = 0
        self.both_in = asyncio.Event()
        self.attempts = 0

    async def bump(self, session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(update(COUNTERS).where(COUNTERS.c.id == event.data["row"]).values(n=COUNTERS.c.n + 1))
        if event.data["first"]:
            self.attempts += 1
            self.first_done += 1
            if self.first_done == 2:
                self.both_in.set()
            await asyncio.wait_for(self.both_in.wait(), 10)


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "consumer_deadlock", METADATA) as made:
        async with made() as session, session.begin():
            await session.execute(insert(COUNTERS), [{"id": 1, "n": 0}, {"id": 2, "n": 0}])
        yield made


def _bump(row: int, first: bool) -> CloudEvent:
    return new_event("/test", "row.bumped", None, {"row": row, "first": first})


async def test_the_batch_that_lost_a_deadlock_is_applied_again_at_once(sessions) -> None:
    crossing = Crossing()
    consumer = EventConsumer(sessions, PROCESSED, {"row.bumped": crossing.bump})
    one, other = [_bump(1, True), _bump(2, False)], [_bump(2, True), _bump(1, False)]
    outcomes = await asyncio.gather(consumer.handle_together(one), consumer.handle_together(other))
    assert [set(o.values()) for o in outcomes] == [{"applied"}, {"applied"}]
    assert crossing.attempts == 3  # both batches' first events, and the loser's again
    async with sessions() as session:
        assert dict((await session.execute(select(COUNTERS.c.id, COUNTERS.c.n))).all()) == {1: 2, 2: 2}
        assert len((await session.execute(select(PROCESSED.c.event_id))).all()) == 4
