"""The background job: send scheduled invitations that are due, then send reminders.

It runs in every replica; the repository claims rows with SKIP LOCKED on PostgreSQL, so an
invitation is sent by one of them.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.survey import invitations
from services.survey.repository import SurveyRepository
from services.survey.settings import SurveySettings
from shared.auth import system_principal
from shared.db import utcnow



async def run_once(sessions: async_sessionmaker[AsyncSession], settings: SurveySettings,
                   now: datetime | None = None) -> tuple[int, int]:
    """One pass; returns (invitations sent or cancelled, reminders sent)."""
    moment = now or utcnow()
    async with sessions() as session, session.begin():
        handled = await invitations.send_due(SurveyRepository(session, system_principal()), settings, moment)
    async with sessions() as session, session.begin():
        reminded = await invitations.remind_due(SurveyRepository(session, system_principal()), settings, moment)
    return handled, reminded
