"""Background work a service repeats on a timer (sending due invitations, SLA breaches, birthdays)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger("csloop.jobs")


class PeriodicJob:
    """Runs `work()` now and then every `interval_seconds`, until stopped.

    A failing pass is logged and the next one runs on time: a database restart or an
    unreachable gateway must not end a job for the life of the process.
    """

    def __init__(self, name: str, work: Callable[[], Awaitable[Any]], interval_seconds: float) -> None:
        self.name = name
        self._work = work
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._work()
            except Exception:
                logger.exception("%s: pass failed", self.name)
            await asyncio.sleep(self._interval)
