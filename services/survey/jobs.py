"""The background job: send scheduled invitations that are due, then send reminders.

It runs in every replica; the repository claims rows with SKIP LOCKED on PostgreSQL, so an
invitation is sent by one of them.
"""

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.survey import invitations
from services.survey.repository import SurveyRepository
from services.survey.settings import SurveySettings
from shared.auth import system_principal
from shared.db import utcnow

logger = logging.getLogger("csloop.survey.jobs")


async def run_once(sessions: async_sessionmaker[AsyncSession], settings: SurveySettings,
                   now: datetime | None = None) -> tuple[int, int]:
    """One pass; returns (invitations sent or cancelled, reminders sent)."""
    moment = now or utcnow()
    async with sessions() as session, session.begin():
        handled = await invitations.send_due(SurveyRepository(session, system_principal()), settings, moment)
    async with sessions() as session, session.begin():
        reminded = await invitations.remind_due(SurveyRepository(session, system_principal()), settings, moment)
    return handled, reminded


class InvitationJob:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: SurveySettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="survey-invitations")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            try:
                await run_once(self._sessions, self._settings)
            except Exception:  # the job must outlive a database restart
                logger.exception("invitation job pass failed")
            await asyncio.sleep(self._settings.jobs_interval_seconds)
