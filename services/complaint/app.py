"""create_app: the complaint service assembled from the shared service plumbing."""

from pathlib import Path

from fastapi import FastAPI

from services.complaint import (api_bulletins, api_cases, api_facts, api_internal, api_policies, api_recalls,
                                api_tech_requests)
from services.complaint.bulletins import remind_overdue
from services.complaint.consumers import event_handlers
from services.complaint.jobs import run_once
from services.complaint.models import TABLES
from services.complaint.references import ReferenceSources
from services.complaint.settings import ComplaintSettings
from services.complaint.sla.business_hours import UNCOVERED_DAYS, configure_uncovered_years
from shared.jobs import PeriodicJob, timed_job
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: ComplaintSettings | None = None, *, migrate: bool = False,
               directory: OrgDirectory | None = None, references: ReferenceSources | None = None) -> FastAPI:
    """`directory` and `references` stand in for the gateway's org directory and the source services in tests."""
    settings = settings or ComplaintSettings()
    directory = directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    references = references or ReferenceSources(settings.customer_url, settings.survey_url)
    configure_uncovered_years(settings.calendar_extra_holidays, settings.calendar_extra_workdays)
    spec = ServiceSpec(
        title="CSLoop complaint service", routers=[api_cases.router, api_policies.router, api_facts.router,
                                                     api_internal.router, api_tech_requests.router,
                                                     api_bulletins.router, api_recalls.router],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(settings, directory),
        jobs=lambda app: _jobs(app, settings, directory), closing=[directory.close, references.close],
    )
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.metrics.registry.register(UNCOVERED_DAYS)
    app.state.directory = directory
    app.state.references = references
    return app


def _jobs(app: FastAPI, settings: ComplaintSettings, directory: OrgDirectory) -> list[PeriodicJob]:
    if not settings.jobs_enabled:
        return []
    return [timed_job(app, "complaint-sla", lambda: run_once(app.state.sessions, directory), settings.sla_job_interval_seconds),
            timed_job(app, "bulletin-reminders", lambda: remind_overdue(app.state.sessions, directory),
                        settings.bulletin_job_interval_seconds)]
