"""create_app: the survey service assembled from the shared service plumbing."""

from pathlib import Path

from fastapi import FastAPI

from services.survey import (api_facts, api_integrity, api_invitations, api_public, api_references, api_responses,
                            api_surveys)
from services.survey.consumers import batch_handler, event_handlers
from services.survey.customer_source import CustomerSource
from services.survey.jobs import flag_spikes_once, run_once
from services.survey.models import TABLES
from services.survey.pinned import PinnedVersions
from services.survey.settings import SurveySettings
from shared.jobs import PeriodicJob, timed_job
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: SurveySettings | None = None, *, migrate: bool = False,
               directory: OrgDirectory | None = None, customers: CustomerSource | None = None) -> FastAPI:
    """`directory` and `customers` stand in for the gateway's org directory and the customer service in tests."""
    settings = settings or SurveySettings()
    handlers = event_handlers(settings)
    directory = directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    customers = customers or CustomerSource(settings.customer_url)
    spec = ServiceSpec(
        title="CSLoop survey service",
        # The public page's routes first: routing tries routes in order, and a submission, the
        # hot path, would otherwise be matched against every route before it (issue 12).
        routers=[api_public.router, api_surveys.router, api_invitations.router, api_responses.router, api_facts.router,
                 api_references.router, api_integrity.router, api_integrity.internal],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=handlers,
        event_batch_handler=batch_handler(handlers),
        jobs=lambda app: _jobs(app, settings), closing=[directory.close, customers.close],
    )
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.directory = directory
    app.state.customers = customers
    app.state.pinned_versions = PinnedVersions()
    return app


def _jobs(app: FastAPI, settings: SurveySettings) -> list[PeriodicJob]:
    if not settings.jobs_enabled:
        return []
    return [timed_job(app, "survey-invitations", lambda: run_once(app.state.sessions, settings), settings.jobs_interval_seconds),
            timed_job(app, "survey-integrity-spikes", lambda: flag_spikes_once(app.state.sessions, settings),
                        settings.integrity_spike_interval_seconds)]
