"""The customer service application: shared plumbing plus this service's routers and jobs."""

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from services.customer import api_customers, api_facts, api_followups, api_references, api_vehicles
from services.customer.followups import create_birthday_followups, event_handlers, policy_from
from services.customer.models import TABLES
from services.customer.settings import CustomerSettings
from shared.jobs import PeriodicJob
from shared.orgs import OrgDirectory
from shared.service_app import ServiceSpec, create_service_app
from shared.strict_query import refuse_unknown_query_parameters

logger = logging.getLogger("csloop.customer")
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: CustomerSettings | None = None, *, migrate: bool = False,
               org_directory: OrgDirectory | None = None) -> FastAPI:
    """`org_directory` lets tests stand in for the gateway; by default it asks `gateway_url`."""
    settings = settings or CustomerSettings()
    directory = org_directory or OrgDirectory(settings.gateway_url, settings.internal_secret)
    spec = ServiceSpec(
        title="CSLoop customer service",
        routers=[api_customers.router, api_vehicles.router, api_followups.router, api_facts.router, api_references.router],
        tables=TABLES, migrations=MIGRATIONS, event_handlers=event_handlers(settings),
        jobs=lambda app: _jobs(app, settings), closing=[directory.close],
    )
    app = create_service_app(spec, settings, migrate=migrate)
    _hottest_first(app, api_customers.router, api_customers.get_customer)
    app.state.org_directory = directory
    app.state.followup_policy = policy_from(settings)
    return app


def _hottest_first(app: FastAPI, router: APIRouter, endpoint: Callable[..., Awaitable[Any]]) -> None:
    """The GET of one customer, the hottest call, also registered on the app itself, ahead of
    every other route. An included router's route is found only after the app's own routes and
    each router before it have been tried, then matched a second time inside its router (about a
    twentieth of the GET), and the app-level strict query dependency doubles FastAPI's dependency
    solving (about a tenth). The copy is the same endpoint behind the same query check, called
    directly (a no-op without a query string), hidden from the OpenAPI document, which keeps
    describing the router's route; a request the copy does not take (another method) reaches that one."""
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]

    @functools.wraps(endpoint)
    async def checked(**values: Any) -> Any:
        await refuse_unknown_query_parameters(values["request"])
        return await endpoint(**values)

    app.router.routes.insert(0, APIRoute(route.path, checked, methods=list(route.methods), name=route.name,
                                         response_model=route.response_model, responses=route.responses,
                                         include_in_schema=False))


def _jobs(app: FastAPI, settings: CustomerSettings) -> list[PeriodicJob]:
    if not settings.birthday_job_enabled:
        return []
    return [PeriodicJob("birthdays", lambda: _birthday_pass(app), settings.birthday_job_interval_seconds)]


async def _birthday_pass(app: FastAPI) -> None:
    async with app.state.sessions() as session, session.begin():
        made = await create_birthday_followups(session, datetime.now(UTC).date())
    if made:
        logger.info("made %d birthday follow-ups", made)
