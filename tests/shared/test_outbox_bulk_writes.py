"""An outbox for bulk writes (`outbox_table(bulk_writes=True)`, the customer service's): a new row
goes into two indexes only, and the relay's lease and the housekeeping's pruning work as on any outbox."""

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import new_metadata, utcnow
from shared.events import new_event
from shared.outbox import HttpTransport, OutboxRelay, outbox_row, record_event
from shared.retention import EventHousekeeping
from shared.service_app import plumbing_tables
from tests.support.databases import sessions_on_tables

METADATA = new_metadata()
TABLES = plumbing_tables(METADATA, bulk_outbox=True)
SUBSCRIBER = "http://survey.test"


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "outbox_bulk", METADATA) as made:
        yield made


async def test_a_new_row_goes_into_the_primary_key_and_the_unsent_index_only() -> None:
    outbox = TABLES.outbox
    assert not [constraint for constraint in outbox.constraints if constraint.name and "event_id" in constraint.name]
    assert not outbox.c.event_id.unique
    pruning = next(index for index in outbox.indexes if index.name == "ix_outbox_sent_at")
    assert str(pruning.dialect_options["postgresql"]["where"]) == "sent_at IS NOT NULL"
    # Every other service's outbox keeps its four.
    assert plumbing_tables(new_metadata()).outbox.c.event_id.unique


async def test_the_relay_sends_each_event_once_and_hands_it_over(sessions: async_sessionmaker[AsyncSession]) -> None:
    received: Counter[str] = Counter()

    async def subscriber(request: httpx.Request) -> httpx.Response:
        received.update(event["id"] for event in json.loads(request.content))
        return httpx.Response(200, json={"outcomes": {}})

    events = [new_event("/test", "note.created", None, {"n": n}) for n in range(25)]
    async with sessions() as session, session.begin():
        for event in events:
            await record_event(session, TABLES.outbox, event)
    transport = HttpTransport({"note.": [SUBSCRIBER]}, "bulk-outbox-test-secret-of-32-bytes!",
                              httpx.AsyncClient(transport=httpx.MockTransport(subscriber)))
    relay = OutboxRelay(sessions, TABLES.outbox, TABLES.outbox_deliveries, transport, batch_size=10)
    for _ in range(5):
        if not await relay.relay_once():
            break
    await relay.stop()

    assert received == Counter({event.id: 1 for event in events})
    async with sessions() as session:
        assert not (await session.scalars(select(TABLES.outbox.c.seq).where(TABLES.outbox.c.sent_at.is_(None)))).all()


async def test_the_housekeeping_prunes_what_was_handed_over_before_the_retention_period(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    seqs = {}
    async with sessions() as session, session.begin():
        for name, sent_at in (("old", now - timedelta(days=9)), ("recent", now - timedelta(days=1)), ("unsent", None)):
            row = outbox_row(new_event("/test", "note.created", None, {}))
            seqs[name] = (await session.execute(insert(TABLES.outbox).values({**row, "sent_at": sent_at})
                                                .returning(TABLES.outbox.c.seq))).scalar_one()

    await EventHousekeeping(sessions, timedelta(days=7), processed=TABLES.processed_events, outbox=TABLES.outbox,
                            deliveries=TABLES.outbox_deliveries).prune_once()

    async with sessions() as session:
        assert set((await session.scalars(select(TABLES.outbox.c.seq))).all()) == {seqs["recent"], seqs["unsent"]}


async def test_on_postgresql_the_pruning_and_the_lease_can_use_their_partial_indexes(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """`sent_at < cutoff` implies `sent_at IS NOT NULL`: the planner may use the partial index
    (with a bound parameter too), so pruning millions of kept rows never scans the table."""
    async with sessions() as session, session.begin():
        if session.bind.dialect.name != "postgresql":
            pytest.skip("index plans are PostgreSQL's")
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        prune = await session.execute(text("EXPLAIN SELECT seq FROM outbox WHERE sent_at < :cutoff LIMIT 5000"),
                                      {"cutoff": utcnow()})
        assert "ix_outbox_sent_at" in "\n".join(prune.scalars())
        lease = await session.execute(text(
            "EXPLAIN SELECT seq FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now() ORDER BY seq LIMIT 200"))
        assert "ix_outbox_unsent" in "\n".join(lease.scalars())
