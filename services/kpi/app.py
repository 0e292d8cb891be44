"""create_app: the KPI service assembled from the shared service plumbing."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from services.kpi import api_evaluations, api_internal, api_people, api_plans, api_reports, plans
from services.kpi.consumers import apply_events, event_handlers
from services.kpi.models import TABLES
from services.kpi.orgs import CallerSubtrees
from services.kpi.plan_sources import PlanSources
from services.kpi.settings import KpiSettings
from shared.jobs import PeriodicJob, timed_job
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: KpiSettings | None = None, *, migrate: bool = False, directory: OrgDirectory | None = None,
               source_transport: httpx.AsyncBaseTransport | None = None,
               plan_sources: PlanSources | None = None) -> FastAPI:
    """`directory` stands in for the gateway's org directory, `source_transport` for the source services
    and `plan_sources` for what improvement plans ask them, in tests."""
    settings = settings or KpiSettings()
    directory = directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    plan_sources = plan_sources or PlanSources(settings.customer_url, settings.complaint_url)
    spec = ServiceSpec(title="CSLoop KPI service",
                       routers=[api_reports.router, api_people.router, api_internal.router, api_plans.router,
                                api_evaluations.router],
                       tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(),
                       event_batch_handler=apply_events, jobs=lambda app: _jobs(app, settings),
                       closing=[directory.close, plan_sources.close])
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.directory = directory
    app.state.subtrees = CallerSubtrees(directory)
    app.state.source_transport = source_transport
    app.state.plan_sources = plan_sources
    return app


def _jobs(app: FastAPI, settings: KpiSettings) -> list[PeriodicJob]:
    if not settings.jobs_enabled:
        return []
    return [timed_job(app, "kpi-plans", lambda: plans.run_once(app.state.sessions), settings.plans_job_interval_seconds)]
