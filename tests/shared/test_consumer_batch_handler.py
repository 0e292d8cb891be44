"""A service's batch handler: a relay's new events in one call, ids recorded set-based, each applied once."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import EventConsumer, processed_events_table
from shared.db import new_metadata
from shared.events import CloudEvent, new_event
from tests.support.databases import sessions_on_tables

METADATA = new_metadata()
EFFECTS = Table("batch_effects", METADATA, Column("seq", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(64), nullable=False), Column("path", String(10), nullable=False))
PROCESSED = processed_events_table(METADATA)


async def _one(session: AsyncSession, event: CloudEvent) -> None:
    await session.execute(insert(EFFECTS).values(event_id=event.id, path="one"))


class Batches:
    """The batch handler: records what it was given, writes each event's effect in one statement."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.fail = False

    async def __call__(self, session: AsyncSession, events: list[CloudEvent]) -> None:
        self.calls.append([event.id for event in events])
        await session.execute(insert(EFFECTS), [{"event_id": event.id, "path": "batch"} for event in events])
        if self.fail:
            raise RuntimeError("a set-based bug")


@pytest.fixture
async def consumer(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[EventConsumer, Batches]]:
    batches = Batches()
    async with sessions_on_tables(tmp_path_factory, "consumer_batch_handler", METADATA) as sessions:
        yield EventConsumer(sessions, PROCESSED, {"thing.done": _one}, batches), batches


async def _effects(consumer: EventConsumer) -> list[tuple[str, str]]:
    async with consumer._sessions() as session:  # noqa: SLF001 - the test reads what the handlers wrote
        return [tuple(row) for row in await session.execute(select(EFFECTS.c.event_id, EFFECTS.c.path).order_by(EFFECTS.c.seq))]


def _event(type_: str = "thing.done") -> CloudEvent:
    return new_event("/test", type_, None, {})


async def test_the_handler_gets_the_new_events_once_in_delivery_order(consumer) -> None:
    consumer, batches = consumer
    seen, first, second, unknown = _event(), _event(), _event(), _event("thing.unknown")
    await consumer.handle(seen)
    outcomes = await consumer.handle_batch([first, seen, unknown, second, first])
    assert batches.calls == [[first.id, second.id]]
    assert outcomes == {first.id: "applied", seen.id: "duplicate", unknown.id: "ignored", second.id: "applied"}
    assert set((await consumer.handle_batch([first, second])).values()) == {"duplicate"}
    assert len(batches.calls) == 1  # nothing new: not called at all
    assert await _effects(consumer) == [(seen.id, "one"), (first.id, "batch"), (second.id, "batch")]


async def test_a_failing_batch_handler_falls_back_to_the_events_one_by_one(consumer) -> None:
    consumer, batches = consumer
    batches.fail = True
    events = [_event(), _event()]
    assert set((await consumer.handle_batch(events)).values()) == {"applied"}
    assert await _effects(consumer) == [(event.id, "one") for event in events]  # the batch's writes rolled back


async def test_the_same_batch_delivered_twice_at_once_is_applied_once(consumer) -> None:
    consumer, _ = consumer
    events = [_event() for _ in range(20)]
    answers = await asyncio.gather(consumer.handle_together(events), consumer.handle_together(events))
    assert sorted(outcome for answer in answers for outcome in answer.values()) == ["applied"] * 20 + ["duplicate"] * 20
    async with consumer._sessions() as session:  # noqa: SLF001
        assert await session.scalar(select(func.count()).select_from(EFFECTS)) == 20
