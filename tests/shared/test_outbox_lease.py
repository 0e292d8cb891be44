"""A relay pass leases a batch, not every due row (on PostgreSQL `key IN (SELECT ... LIMIT n FOR
UPDATE SKIP LOCKED)` could run the subquery again per row, each run skipping what the UPDATE took)."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import new_metadata, utcnow
from shared.events import new_event
from shared.outbox import OutboxRelay, outbox_row
from shared.service_app import plumbing_tables
from tests.support.databases import sessions_on_tables

METADATA = new_metadata()
TABLES = plumbing_tables(METADATA)
SUBSCRIBER = "http://survey.test"


class NoTransport:
    all_subscribers = [SUBSCRIBER]

    def subscribers(self, event_type: str) -> list[str]:
        return [SUBSCRIBER]

    async def send(self, subscriber: str, rows: list) -> dict[int, str]:
        return {}

    async def close(self) -> None:
        return None


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "outbox_lease", METADATA) as made:
        yield made


async def test_a_pass_leases_a_batch_of_new_events_and_a_share_of_due_deliveries(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    relay = OutboxRelay(sessions, TABLES.outbox, TABLES.outbox_deliveries, NoTransport(), batch_size=10)
    async with sessions() as session, session.begin():
        rows = [outbox_row(new_event("/test", "note.created", None, {"n": n})) for n in range(25)]
        await session.execute(insert(TABLES.outbox), rows)
        seqs = (await session.scalars(select(TABLES.outbox.c.seq).order_by(TABLES.outbox.c.seq))).all()
        await session.execute(insert(TABLES.outbox_deliveries), [
            {"seq": seq, "subscriber": SUBSCRIBER, "attempts": 1, "next_attempt_at": utcnow()} for seq in seqs])

    async with sessions() as session, session.begin():
        assert [row["seq"] for row in await relay._lease_new(session)] == seqs[:10]  # noqa: SLF001
        assert sorted(row["seq"] for row in await relay._lease(session, SUBSCRIBER)) == seqs[:10]  # noqa: SLF001
    async with sessions() as session, session.begin():
        assert [row["seq"] for row in await relay._lease_new(session)] == seqs[10:20]  # noqa: SLF001
    async with sessions() as session:
        leased = TABLES.outbox.c.next_attempt_at > utcnow()
        assert await session.scalar(select(func.count()).select_from(TABLES.outbox).where(leased)) == 20
