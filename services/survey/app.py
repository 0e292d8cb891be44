"""create_app: the survey service assembled from the shared service plumbing."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.survey import api_facts, api_invitations, api_public, api_responses, api_surveys
from services.survey.consumers import event_handlers
from services.survey.jobs import InvitationJob
from services.survey.models import TABLES
from services.survey.settings import SurveySettings
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: SurveySettings | None = None, *, migrate: bool = False,
               directory: OrgDirectory | None = None) -> FastAPI:
    """`directory` stands in for the gateway's org directory in tests."""
    settings = settings or SurveySettings()
    spec = ServiceSpec(
        title="CSLoop survey service",
        routers=[api_surveys.router, api_invitations.router, api_responses.router, api_public.router, api_facts.router],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(settings),
    )
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.directory = directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    plumbing = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with plumbing(app):
            app.state.invitation_job = InvitationJob(app.state.sessions, settings)
            if settings.jobs_enabled:
                app.state.invitation_job.start()
            try:
                yield
            finally:
                await app.state.invitation_job.stop()
                await app.state.directory.close()

    app.router.lifespan_context = lifespan
    return app
