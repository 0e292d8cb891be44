"""One relay at a time among a service's replicas (shared.db.HeldLease): the replica that took the
lease keeps it across passes; another takes it when the holder stops or dies."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import HeldLease, create_engine, new_metadata
from tests.support.databases import database_with_tables, postgres_base_url

pytestmark = pytest.mark.skipif(not postgres_base_url(), reason="the lease is a PostgreSQL advisory lock")

RETRY = 0.2


@pytest.fixture
async def engines(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[AsyncEngine]]:
    url = await database_with_tables(tmp_path_factory, "held_lease", new_metadata())
    made = [create_engine(url) for _ in range(2)]  # two replicas: a pool each
    yield made
    for engine in made:
        await engine.dispose()


async def holds(lease: HeldLease) -> bool:
    async with lease() as held:
        return held


async def test_the_holder_keeps_the_lease_until_it_stops(engines: list[AsyncEngine]) -> None:
    first, second = (HeldLease(engine, "relay", RETRY) for engine in engines)
    assert await holds(first) and not await holds(second)
    await asyncio.sleep(RETRY * 1.5)
    assert await holds(first) and not await holds(second)  # kept across passes, asked again
    await first.release()
    assert not await holds(second)  # refused a moment ago: not asked again before RETRY
    await asyncio.sleep(RETRY * 1.5)
    assert await holds(second) and not await holds(first)
    await second.release()


async def test_a_holder_that_dies_leaves_the_lease_to_another(engines: list[AsyncEngine]) -> None:
    first, second = (HeldLease(engine, "relay", RETRY) for engine in engines)
    assert await holds(first) and not await holds(second)
    # The holder's connection drops (its process killed, or the server ended the session): the lock
    # goes with it.
    held = await first._connection.get_raw_connection()  # type: ignore[union-attr]  # noqa: SLF001
    held.driver_connection.terminate()
    await asyncio.sleep(RETRY * 1.5)
    assert await holds(second)
    assert not await holds(first)  # it finds its connection gone, and the lease taken
    await second.release()
