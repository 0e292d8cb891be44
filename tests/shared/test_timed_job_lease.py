"""Timed jobs run once across replicas (issue 19 item 2): a pass leases its job on the database."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.engine import make_url

from shared.db import create_engine, job_lease
from shared.jobs import PeriodicJob
from tests.support.databases import postgres_base_url


@pytest.mark.skipif(not postgres_base_url(), reason="the lease is a PostgreSQL advisory lock")
async def test_two_replicas_never_hold_one_jobs_lease_at_once() -> None:
    url = make_url(postgres_base_url() or "").set(database="postgres").render_as_string(hide_password=False)
    replica_a, replica_b = create_engine(url), create_engine(url)  # two processes' pools
    try:
        async with job_lease(replica_a, "complaint-sla") as held_by_a:
            async with job_lease(replica_b, "complaint-sla") as held_by_b, \
                    job_lease(replica_b, "bulletin-reminders") as other_job:
                assert (held_by_a, held_by_b, other_job) == (True, False, True)
        # A's pass is over: the next pass may be B's.
        async with job_lease(replica_b, "complaint-sla") as held_by_b:
            assert held_by_b
    finally:
        await replica_a.dispose()
        await replica_b.dispose()


async def test_a_pass_whose_lease_another_replica_holds_does_no_work() -> None:
    passes: list[str] = []
    leased = asyncio.Event()

    @asynccontextmanager
    async def held_elsewhere() -> AsyncIterator[bool]:
        yield False
        leased.set()

    async def work() -> int:
        passes.append("ran")
        return 0

    job = PeriodicJob("birthdays", work, 3600, lease=held_elsewhere)
    job.start()
    await leased.wait()
    await job.stop()
    assert passes == []


def test_sqlite_serves_one_process_so_its_lease_is_always_held() -> None:
    async def lease() -> bool:
        engine = create_engine("sqlite+aiosqlite://")
        try:
            async with job_lease(engine, "standing") as held:
                return held
        finally:
            await engine.dispose()

    assert asyncio.run(lease())
