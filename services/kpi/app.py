"""create_app: the KPI service assembled from the shared service plumbing."""

from pathlib import Path

import httpx
from fastapi import FastAPI

from services.kpi import api_evaluations, api_internal, api_people, api_reports
from services.kpi.consumers import apply_events, event_handlers
from services.kpi.models import TABLES
from services.kpi.orgs import CallerSubtrees
from services.kpi.settings import KpiSettings
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: KpiSettings | None = None, *, migrate: bool = False, directory: OrgDirectory | None = None,
               source_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """`directory` stands in for the gateway's org directory and `source_transport` for the source services, in tests."""
    settings = settings or KpiSettings()
    directory = directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    spec = ServiceSpec(title="CSLoop KPI service", routers=[api_reports.router, api_people.router, api_internal.router,
                                                            api_evaluations.router],
                       tables=TABLES,
                       migrations=MIGRATIONS, event_handlers=event_handlers(), event_batch_handler=apply_events,
                       closing=[directory.close])
    app = create_service_app(spec, settings, migrate=migrate)
    app.state.directory = directory
    app.state.subtrees = CallerSubtrees(directory)
    app.state.source_transport = source_transport
    return app
