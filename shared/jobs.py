"""Background work a service repeats: relays, dispatchers, due invitations, SLA breaches, birthdays."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from shared.db import job_lease

logger = logging.getLogger("csloop.jobs")


class PeriodicJob:
    """Runs `work()` now and then every `interval_seconds`, until stopped.

    With `batch_size`, `work()` returns how many items it handled, and a full batch means more
    is waiting: the next pass runs at once instead of after the interval. `wake()` cuts a wait
    short (a request just committed something to send), `linger_seconds` after the wake, so the
    commits right behind the first join its pass. A failing pass is logged and the
    next one runs on time: a database restart or an unreachable peer must not end a job for
    the life of the process.

    With `lease` (a timed job: SLA breaches, greetings, the daily passes), each pass runs only
    when the lease says this process holds it (`shared.db.job_lease`), so replicas of a service
    run it once; relays and dispatchers, which claim their rows one by one, need none.
    """

    def __init__(self, name: str, work: Callable[[], Awaitable[int | None]], interval_seconds: float,
                 *, batch_size: int | None = None,
                 lease: Callable[[], AbstractAsyncContextManager[bool]] | None = None,
                 linger_seconds: float = 0.0) -> None:
        self.name = name
        self._work = work
        self._lease = lease
        self._interval = interval_seconds
        self._linger = linger_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def run_pass(self) -> int:
        """One pass now, as the schedule runs it (under the lease, when the job has one): what
        a test of replicas runs on two apps at once."""
        if self._lease is None:
            return await self._work() or 0
        async with self._lease() as held:
            return (await self._work() or 0) if held else 0

    async def _run(self) -> None:
        while True:
            handled = 0
            try:
                handled = await self.run_pass()
            except Exception:
                logger.exception("%s: pass failed", self.name)
            if self._batch_size is not None and handled >= self._batch_size:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
                await asyncio.sleep(self._linger)
            except TimeoutError:
                pass
            self._wake.clear()


def timed_job(app: Any, name: str, work: Callable[[], Awaitable[int | None]], interval_seconds: float) -> PeriodicJob:
    """A job whose passes the replicas of a service take turns at, leased on the app's database."""
    return PeriodicJob(name, work, interval_seconds, lease=lambda: job_lease(app.state.engine, name))
