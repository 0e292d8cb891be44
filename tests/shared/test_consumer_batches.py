"""A relay's batch of events: applied together, or one by one when one of them fails."""

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import EventConsumer, processed_events_table
from shared.db import create_engine, new_metadata, session_factory
from shared.events import CloudEvent, new_event

METADATA = new_metadata()
EFFECTS = Table("effects", METADATA, Column("seq", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(64), nullable=False))
PROCESSED = processed_events_table(METADATA)


async def _record(session: AsyncSession, event: CloudEvent) -> None:
    await session.execute(insert(EFFECTS).values(event_id=event.id))


async def _fail(session: AsyncSession, event: CloudEvent) -> None:
    raise RuntimeError("a handler bug")


@pytest.fixture
async def consumer(tmp_path: Path) -> EventConsumer:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    consumer = EventConsumer(session_factory(engine), PROCESSED, {"thing.done": _record, "thing.broken": _fail})
    yield consumer
    await engine.dispose()


async def _effects(consumer: EventConsumer) -> int:
    async with consumer._sessions() as session:  # noqa: SLF001 - the test reads what the handlers wrote
        return await session.scalar(select(func.count()).select_from(EFFECTS))


def _event(type_: str = "thing.done") -> CloudEvent:
    return new_event("/test", type_, None, {})


async def test_a_batch_applies_each_event_once_even_when_it_repeats_one(consumer: EventConsumer) -> None:
    first, second = _event(), _event()
    outcomes = await consumer.handle_batch([first, second, first, _event("thing.unknown")])
    assert [outcomes[first.id], outcomes[second.id]] == ["applied", "applied"]
    assert await _effects(consumer) == 2
    again = await consumer.handle_batch([first, second])
    assert set(again.values()) == {"duplicate"}
    assert await _effects(consumer) == 2


async def test_one_failing_event_holds_up_only_itself(consumer: EventConsumer) -> None:
    good, bad, other = _event(), _event("thing.broken"), _event()
    with pytest.raises(RuntimeError):
        await consumer.handle_batch([good, bad, other])
    assert await _effects(consumer) == 2  # the good ones stand
    # The sender retries the whole batch: the good ones are duplicates now.
    with pytest.raises(RuntimeError):
        await consumer.handle_batch([good, bad, other])
    assert await _effects(consumer) == 2
