"""The customer service application: shared plumbing plus this service's routers and jobs."""

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.routing import Route

from services.customer import (
    api_appointments, api_campaigns, api_customers, api_desk, api_facts, api_followups, api_imports, api_interactions,
    api_references, api_retention, api_staff, api_vehicles, complaint_cases, standing,
)
from services.customer.followups import create_birthday_followups, create_holiday_followups, event_handlers, policy_from
from services.customer.models import TABLES
from services.customer.settings import CustomerSettings
from shared.jobs import PeriodicJob, timed_job
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
        routers=[api_customers.router, api_imports.router, api_vehicles.router, api_followups.router, api_interactions.router,
                 api_facts.router, api_references.router, api_desk.router, api_appointments.router,
                 api_staff.router, api_staff.internal, api_campaigns.router, api_retention.router],
        tables=TABLES, migrations=MIGRATIONS,
        event_handlers=standing.with_visit_standing(event_handlers(settings) | complaint_cases.event_handlers()),
        jobs=lambda app: _jobs(app, settings), closing=[directory.close],
    )
    app = create_service_app(spec, settings, migrate=migrate)
    _hottest_first(app, api_customers.router, api_customers.get_customer)
    app.state.org_directory = directory
    app.state.followup_policy = policy_from(settings)
    return app


def _hottest_first(app: FastAPI, router: APIRouter, endpoint: Callable[[uuid.UUID, Request], Awaitable[Response]]) -> None:
    """The GET of one customer, the hottest call, also routed by the app itself, ahead of every
    other route, as a plain Starlette route calling the same endpoint. Through the router, the
    route is found only after the app's own routes and each router before it (then matched a
    second time inside its router), and FastAPI's request handler solves the app-level strict
    query dependency and the parameters: together about a sixth of the GET's own work. Same
    behaviour: the id is a UUID (anything else does not match here and gets the router's 422),
    the query is checked by the same function, the scope names the router's route (access
    log, metrics), errors reach the same problem handlers, and the endpoint opens the same
    scoped repository. HEAD and the other methods reach the router's routes, as before, and the
    OpenAPI document keeps describing the router's route."""
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]

    async def hottest(request: Request) -> Response:
        request.scope["route"] = route
        await refuse_unknown_query_parameters(request)
        return await endpoint(request.path_params["customer_id"], request)

    path = route.path.replace("{customer_id}", "{customer_id:uuid}")
    assert path != route.path, "the hottest route's id is `customer_id`"
    copy = Route(path, hottest, methods=["GET"], include_in_schema=False)
    copy.methods.discard("HEAD")  # Starlette adds it to a GET; the router's route answers it (405)
    app.router.routes.insert(0, copy)


def _jobs(app: FastAPI, settings: CustomerSettings) -> list[PeriodicJob]:
    jobs = []
    if settings.birthday_job_enabled:
        jobs.append(timed_job(app, "birthdays", lambda: _birthday_pass(app), settings.birthday_job_interval_seconds))
    if settings.holiday_job_enabled:
        jobs.append(timed_job(app, "holidays", lambda: _holiday_pass(app, settings), settings.holiday_job_interval_seconds))
    if settings.standing_job_enabled:
        jobs.append(timed_job(app, "standing", lambda: standing.daily_pass(app.state.sessions),
                                settings.standing_job_interval_seconds))
    return jobs


async def _birthday_pass(app: FastAPI) -> None:
    async with app.state.sessions() as session, session.begin():
        made = await create_birthday_followups(session, datetime.now(UTC).date())
    if made:
        logger.info("made %d birthday follow-ups", made)


async def _holiday_pass(app: FastAPI, settings: CustomerSettings) -> None:
    made = await create_holiday_followups(app.state.sessions, datetime.now(UTC).date(), settings.holiday_lead_days,
                                          frozenset(settings.holiday_greetings))
    if made:
        logger.info("made %d holiday follow-ups", made)
