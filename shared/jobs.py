"""Background work a service repeats: relays, dispatchers, due invitations, SLA breaches, birthdays."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("csloop.jobs")


class PeriodicJob:
    """Runs `work()` now and then every `interval_seconds`, until stopped.

    With `batch_size`, `work()` returns how many items it handled, and a full batch means more
    is waiting: the next pass runs at once instead of after the interval. `wake()` cuts a wait
    short (a request just committed something to send). A failing pass is logged and the
    next one runs on time: a database restart or an unreachable peer must not end a job for
    the life of the process.
    """

    def __init__(self, name: str, work: Callable[[], Awaitable[int | None]], interval_seconds: float,
                 *, batch_size: int | None = None) -> None:
        self.name = name
        self._work = work
        self._interval = interval_seconds
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

    async def _run(self) -> None:
        while True:
            handled = 0
            try:
                handled = await self._work() or 0
            except Exception:
                logger.exception("%s: pass failed", self.name)
            if self._batch_size is not None and handled >= self._batch_size:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                pass
            self._wake.clear()
