"""Two replicas of a service in one test: two apps (two lifespans, two engines) on one database,
and their schedulers' passes of a timed job, leased as `shared.jobs.timed_job` leases them."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Table, select

from shared.jobs import timed_job

REPLICAS = 2
# Rounds of passes the two schedulers run: enough for every order of who runs first to occur.
ROUNDS = 3


@asynccontextmanager
async def running_replicas(make_app: Callable[[], FastAPI], count: int = REPLICAS) -> AsyncIterator[list[FastAPI]]:
    """`count` apps from `make_app`, each in its lifespan (its own engine and pool), started one
    after another (the first migrates; the others find the schema up to date)."""
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(count):
            app = make_app()
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps.append(app)
        yield apps


Work = Callable[[FastAPI, datetime], Awaitable[Any]]


async def scheduler_rounds(replicas: list[FastAPI], job: str, work: Work, start: datetime,
                           interval_seconds: float) -> None:
    """The replicas' schedulers running `job` over items due at `start`.

    First every replica's pass at once, at the same moment and without the lease: both find the
    same items due, and the job's own claims (unique keys, SKIP LOCKED, conditional updates) must
    give each item to one of them, as they must where the lease does not hold (a session-level
    advisory lock lost with its connection, a pooler in transaction mode). Then rounds of leased
    passes (`shared.jobs.timed_job`), every replica's at once (the lease turns one away), replica
    r's clock r half-intervals ahead of replica 0's and each round an interval after the last: a
    pass half an interval after another replica's must find the items done.
    """
    await asyncio.gather(*(work(app, start) for app in replicas))
    half = timedelta(seconds=interval_seconds / 2)
    for round_ in range(1, ROUNDS + 1):
        passes = [timed_job(app, job, _bound(work, app, start + (2 * round_ + r) * half), interval_seconds).run_pass()
                  for r, app in enumerate(replicas)]
        await asyncio.gather(*passes)


def _bound(work: Work, app: FastAPI, moment: datetime) -> Callable[[], Awaitable[Any]]:
    async def one_pass() -> Any:
        return await work(app, moment)
    return one_pass


async def outbox_data(app: FastAPI, outbox: Table, type_: str) -> list[dict[str, Any]]:
    """The `data` of every event of `type_` the service wrote (its relay is off: none has left)."""
    async with app.state.sessions() as session:
        payloads = (await session.execute(select(outbox.c.payload).where(outbox.c.type == type_))).scalars()
        return [payload["data"] for payload in payloads]


def once(expected: Iterable[Hashable]) -> Counter[Hashable]:
    """Each expected effect's key counted once: what `Counter(keys of the effects found)` must equal."""
    return Counter(set(expected))
