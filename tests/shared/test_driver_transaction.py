"""A transaction on the driver (shared.db.core_transaction on PostgreSQL) begins with its org
setting in the same message as BEGIN (shared.rls.begin_with_setting), and any path still reaches
the setting exactly: one an SQL literal could not hold as it is is bound instead. More of them at
once than the pool keeps connections wait for a kept one rather than open an overflow connection."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Column, Integer, String, Table, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import rls
from shared.db import core_transaction, create_engine, new_metadata, session_factory
from tests.support.databases import database_with_tables, postgres_base_url, sessions_on_tables

METADATA = new_metadata()
NOTES = Table("driver_notes", METADATA, Column("id", Integer, primary_key=True), Column("path", String(400)))
CURRENT = select(func.current_setting(rls.SETTING).label("path"))
ORG_PATHS = ["/", "/MFR/R-01/DLR_0042/"]
# Not org paths (no org code holds these), but a caller's value all the same: never SQL.
ODD_PATHS = ["/it's/", "/back\\slash/", "/lower/", "/x'; SELECT 1; --/"]


def test_org_paths_go_with_begin_and_anything_else_is_left_to_be_bound() -> None:
    for path in ORG_PATHS:
        assert rls.begin_with_setting(path) == f"BEGIN; SELECT set_config('{rls.SETTING}', '{path}', true)"
    for path in ODD_PATHS:
        assert rls.begin_with_setting(path) == rls.BEGIN


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if not postgres_base_url():
        pytest.skip("the driver's transaction is PostgreSQL's")
    async with sessions_on_tables(tmp_path_factory, "driver_transaction", METADATA) as made:
        yield made


@pytest.mark.parametrize("path", ORG_PATHS + ODD_PATHS)
async def test_the_transaction_runs_for_exactly_the_path_it_was_given(
        sessions: async_sessionmaker[AsyncSession], path: str) -> None:
    async with core_transaction(sessions, path) as statements:
        assert (await statements.fetch_one(CURRENT, {})).path == path
        await statements.execute(insert(NOTES), {"id": len(path), "path": path})
    async with core_transaction(sessions, "/") as statements:
        stored = await statements.fetch_one(select(NOTES.c.path).where(NOTES.c.id == len(path)), {})
    assert stored is not None and stored.path == path


async def test_a_failed_block_rolls_back_and_leaves_the_connection_clean(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with core_transaction(sessions, "/MFR/") as statements:
            await statements.execute(insert(NOTES), {"id": 1, "path": "/MFR/"})
            raise RuntimeError("the block failed")
    for _ in range(sessions.kw["bind"].pool.size() + 1):  # every pooled connection: none left in a transaction
        async with core_transaction(sessions, "/") as statements:
            assert await statements.fetch_one(select(NOTES.c.id).where(NOTES.c.id == 1), {}) is None
            assert (await statements.fetch_one(CURRENT, {})).path == "/"


async def test_more_transactions_than_kept_connections_queue_for_one(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not postgres_base_url():
        pytest.skip("the driver's transaction is PostgreSQL's")
    engine = create_engine(await database_with_tables(tmp_path_factory, "driver_slots", METADATA),
                           pool_size=2, max_overflow=10)
    opened = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    sessions = session_factory(engine)

    async def one(number: int) -> None:
        async with core_transaction(sessions, "/") as statements:
            await statements.execute(insert(NOTES), {"id": number, "path": "/"})
            await asyncio.sleep(0.05)  # held, so the others arrive while it is

    try:
        for _ in range(3):
            await asyncio.gather(*(one(number) for number in range(8)))
            async with core_transaction(sessions, "/") as statements:
                await statements.execute(NOTES.delete(), {})
        assert len(opened) == 2, f"{len(opened)} connections opened for a pool that keeps 2"
    finally:
        await engine.dispose()
