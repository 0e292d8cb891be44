"""create_app: the complaint service assembled from the shared service plumbing."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.complaint import api, api_facts, api_policies
from services.complaint.consumers import event_handlers
from services.complaint.jobs import SlaJob
from services.complaint.models import TABLES
from services.complaint.settings import ComplaintSettings
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: ComplaintSettings | None = None, *, migrate: bool = False,
               directory: OrgDirectory | None = None) -> FastAPI:
    """`directory` stands in for the gateway's org directory in tests."""
    settings = settings or ComplaintSettings()
    directory = directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    spec = ServiceSpec(
        title="CSLoop complaint service", routers=[api.router, api_policies.router, api_facts.router],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(settings, directory),
    )
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.directory = directory
    plumbing = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with plumbing(app):
            app.state.sla_job = SlaJob(app.state.sessions, directory, settings)
            if settings.jobs_enabled:
                app.state.sla_job.start()
            try:
                yield
            finally:
                await app.state.sla_job.stop()
                await directory.close()

    app.router.lifespan_context = lifespan
    return app
