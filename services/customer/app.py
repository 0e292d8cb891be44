"""The customer service application: shared plumbing plus this service's routers and jobs."""

import logging
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from services.customer import api_customers, api_facts, api_followups, api_imports, api_references, api_vehicles
from services.customer.followups import create_birthday_followups, event_handlers, policy_from
from services.customer.models import TABLES
from services.customer.settings import CustomerSettings
from shared.jobs import PeriodicJob
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

logger = logging.getLogger("csloop.customer")
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: CustomerSettings | None = None, *, migrate: bool = False,
               org_directory: OrgDirectory | None = None) -> FastAPI:
    """`org_directory` lets tests stand in for the gateway; by default it asks `gateway_url`."""
    settings = settings or CustomerSettings()
    directory = org_directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    spec = ServiceSpec(
        title="CSLoop customer service",
        routers=[api_customers.router, api_imports.router, api_vehicles.router, api_followups.router, api_facts.router, api_references.router],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(settings),
        jobs=lambda app: _jobs(app, settings), closing=[directory.close],
    )
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.org_directory = directory
    app.state.followup_policy = policy_from(settings)
    return app


def _jobs(app: FastAPI, settings: CustomerSettings) -> list[PeriodicJob]:
    if not settings.birthday_job_enabled:
        return []
    return [PeriodicJob("birthdays", lambda: _birthday_pass(app), settings.birthday_job_interval_seconds)]


async def _birthday_pass(app: FastAPI) -> None:
    async with app.state.sessions() as session, session.begin():
        made = await create_birthday_followups(session, datetime.now(UTC).date())
    if made:
        logger.info("made %d birthday follow-ups", made)
