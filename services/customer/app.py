"""The customer service application: shared plumbing plus this service's routers and jobs."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from services.customer import api_customers, api_facts, api_followups, api_vehicles
from services.customer.followups import create_birthday_followups, event_handlers, policy_from
from services.customer.models import TABLES
from services.customer.settings import CustomerSettings
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

logger = logging.getLogger("csloop.customer")
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: CustomerSettings | None = None, *, migrate: bool = False,
               org_directory: OrgDirectory | None = None) -> FastAPI:
    """`org_directory` lets tests stand in for the gateway; by default it asks `gateway_url`."""
    settings = settings or CustomerSettings()
    spec = ServiceSpec(
        title="CSLoop customer service",
        routers=[api_customers.router, api_vehicles.router, api_followups.router, api_facts.router],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(settings),
    )
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.org_directory = org_directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    app.state.followup_policy = policy_from(settings)
    _extend_lifespan(app, settings)
    return app


def _extend_lifespan(app: FastAPI, settings: CustomerSettings) -> None:
    """ServiceSpec has no lifespan hook, so wrap the shared lifespan: our job starts after it
    (the database is ready) and stops before it, and the org directory closes last."""
    shared_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with shared_lifespan(app):
                job = None
                if settings.birthday_job_enabled:
                    job = asyncio.create_task(_birthday_job(app, settings.birthday_job_interval_seconds), name="birthdays")
                try:
                    yield
                finally:
                    if job:
                        job.cancel()
                        await asyncio.gather(job, return_exceptions=True)
        finally:
            await app.state.org_directory.close()

    app.router.lifespan_context = lifespan


async def _birthday_job(app: FastAPI, interval_seconds: float) -> None:
    while True:
        try:
            async with app.state.sessions() as session, session.begin():
                made = await create_birthday_followups(session, datetime.now(UTC).date())
            if made:
                logger.info("made %d birthday follow-ups", made)
        except Exception:  # a database outage must not end the job for good
            logger.exception("birthday follow-up job failed")
        await asyncio.sleep(interval_seconds)
