"""The background jobs: send scheduled invitations that are due, then send reminders; and the
daily dealer_spike pass of survey integrity.

They run in every replica; the repository claims invitations with SKIP LOCKED on PostgreSQL, so an
invitation is sent by one of them, and a customer's invitations are decided by one transaction at a
time (repo.claim_customer), so survey fatigue holds across replicas too. The spike pass runs in one replica at a time (a transaction-scoped
advisory lock: a replica that finds it taken does nothing) and leaves a response flagged before as
it is, so a later replica's pass changes nothing either.
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.survey import invitations, review
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


async def flag_spikes_once(sessions: async_sessionmaker[AsyncSession], settings: SurveySettings,
                           now: datetime | None = None) -> int:
    """The daily dealer_spike pass (review.flag_spikes); returns how many responses it flagged."""
    async with sessions() as session, session.begin():
        return await review.flag_spikes(SurveyRepository(session, system_principal()), settings, now or utcnow())
