"""The FastAPI application every service is built from: the common plumbing in one place.

A service hands over its routers, its event handlers and where its migrations live; this
wires the database, the internal-token check, problems, request ids, metrics, health,
idempotency keys, the outbox relay and the `/internal/events` consumer.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import INTERNAL_HEADER, Principal, TokenVerifier, authorised
from shared.consumer import BatchHandler, EventConsumer, EventHandler, internal_events_router, processed_events_table
from shared.db import HeldLease, create_engine, ping, refuse_superuser, session_factory
from shared.idempotency import IdempotencyMiddleware, idempotency_table
from shared.jobs import PeriodicJob
from shared.logs import RequestIdMiddleware, configure_logging
from shared.migration_process import upgrade
from shared.observability import HealthEndpoints, MetricsMiddleware, RequestMetrics, metrics_router
from shared.outbox import EventTransport, HttpTransport, OutboxRelay, events_recorded, outbox_deliveries_table, outbox_table
from shared.openapi_doc import install_openapi, operation_id
from shared.problems import install_problem_handlers
from shared.retention import EventHousekeeping
from shared.rls import SYSTEM_PATH
from shared.settings import CommonSettings
from shared.strict_query import refuse_unknown_query_parameters
from shared.tracing import install_tracing

if TYPE_CHECKING:
    from shared.nats_transport import NatsEventSubscriber


Repository = TypeVar("Repository")
# A standby replica asks for the NATS consumer lease this often: it takes over the pull within
# about this long of the holder's death (the holder checks its lease's connection as often).
CONSUMER_LEASE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class PlumbingTables:
    """The tables every service database has besides its own."""

    outbox: Table
    outbox_deliveries: Table
    processed_events: Table
    idempotency_keys: Table


def plumbing_tables(metadata: MetaData, *, bulk_outbox: bool = False) -> PlumbingTables:
    """`bulk_outbox`: see `outbox_table(bulk_writes=...)`."""
    return PlumbingTables(outbox_table(metadata, bulk_writes=bulk_outbox), outbox_deliveries_table(metadata), processed_events_table(metadata),
                          idempotency_table(metadata))


@dataclass
class ServiceSpec:
    title: str
    routers: list[APIRouter]
    tables: PlumbingTables
    migrations: Path
    event_handlers: dict[str, EventHandler]
    # Applies a relay's batch of new events set-based (shared/consumer.py); without it, event by event.
    event_batch_handler: BatchHandler | None = None
    # Built once the database is ready (they need `app.state.sessions`), stopped before it closes.
    jobs: Callable[[FastAPI], list[PeriodicJob]] = lambda _app: []
    # Closed last, after the jobs and the relay: clients the service opened (the org directory).
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def create_service_app(spec: ServiceSpec, settings: CommonSettings, *, migrate: bool = False) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.refuse_superuser:
            await refuse_superuser(settings.database_url)
        if migrate:
            await upgrade(settings.database_url, spec.migrations, in_child=app.state.migrate_in_child)
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size,
                               max_overflow=settings.database_max_overflow)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.consumer = EventConsumer(app.state.sessions, spec.tables.processed_events, spec.event_handlers,
                                           spec.event_batch_handler)
        # One relay at a time among the service's replicas (shared.db.HeldLease says why).
        leader = HeldLease(engine, f"outbox-relay.{settings.service_name}", settings.relay_interval_seconds)
        app.state.relay = OutboxRelay(app.state.sessions, spec.tables.outbox, spec.tables.outbox_deliveries,
                                      event_transport(settings), interval_seconds=settings.relay_interval_seconds,
                                      lease=leader)
        if settings.relay_enabled:
            app.state.relay.start()
        subscriber = nats_subscriber(settings, app.state.consumer, engine) if spec.event_handlers else None
        if subscriber:
            subscriber.start()
        jobs = [*spec.jobs(app), housekeeping(app.state.sessions, spec.tables, settings)]
        for job in jobs:
            job.start()
        try:
            yield
        finally:
            for job in jobs:
                await job.stop()
            if subscriber:
                await subscriber.stop()
            await app.state.relay.stop()
            await engine.dispose()
            for close in spec.closing:
                await close()

    app = FastAPI(title=spec.title, version="1.0.0", lifespan=lifespan, generate_unique_id_function=operation_id,
                  dependencies=[Depends(refuse_unknown_query_parameters)])
    install_openapi(app)
    app.state.settings = settings
    app.state.refuse_superuser = False  # shared.serve turns it on for a real process
    app.state.migrate_in_child = False  # and this (shared.migration_process says why)
    app.state.tables = spec.tables
    app.state.token_verifier = TokenVerifier(settings.internal_secret)
    install_problem_handlers(app)

    async def database() -> None:
        await ping(app.state.engine)

    metrics = RequestMetrics(settings.service_name)
    app.state.metrics = metrics  # a service registers its own metrics in `metrics.registry`
    app.include_router(metrics_router(metrics))
    app.include_router(internal_events_router(lambda request: request.app.state.consumer))
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    install_tracing(app, settings)
    app.add_middleware(HealthEndpoints, readiness=[database])  # outermost: probes skip the rest
    return app


def housekeeping(sessions: async_sessionmaker[AsyncSession], tables: PlumbingTables, settings: CommonSettings) -> PeriodicJob:
    """The job that prunes sent events and processed-event ids after the retention period."""
    retention = timedelta(days=settings.event_retention_days)
    return EventHousekeeping(sessions, retention, processed=tables.processed_events, outbox=tables.outbox,
                             deliveries=tables.outbox_deliveries).job(settings.housekeeping_interval_seconds)


def event_transport(settings: CommonSettings) -> EventTransport:
    if settings.event_transport == "nats":
        # Imported only here and below: nats-py brings aiohttp, 8 MB resident in every process (issue 12 item 7).
        from shared.nats_transport import NatsTransport

        return NatsTransport(settings.nats_url, settings.nats_stream, settings.nats_subject_prefix,
                             stream_replicas=settings.nats_stream_replicas)
    return HttpTransport(settings.event_subscriptions, settings.internal_secret)


def nats_subscriber(settings: CommonSettings, consumer: EventConsumer, engine: AsyncEngine) -> "NatsEventSubscriber | None":
    """With NATS, a process reads the stream through a durable consumer named after it, shared by its
    replicas (each event applied once), pulled by one replica at a time (the lease on `engine`'s
    database); the gateway's feeds its webhooks."""
    if settings.event_transport != "nats":
        return None
    from shared.nats_transport import NatsEventSubscriber

    lease = HeldLease(engine, f"nats-consumer.{settings.service_name}", CONSUMER_LEASE_RETRY_SECONDS)
    return NatsEventSubscriber(consumer, settings.nats_url, settings.nats_stream, settings.nats_subject_prefix,
                               durable=settings.service_name, stream_replicas=settings.nats_stream_replicas, lease=lease)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    On PostgreSQL the transaction sees only the caller's rows (shared/rls.py); a request
    without an internal token (public survey pages, /internal/events) acts for the system.
    """
    async with request_transaction(request, request_org_path(request)) as session:
        yield session


def repository_for(repository: Callable[[AsyncSession, Principal], Repository], scope: str) -> Any:
    """`Annotated[CustomerRepository, repository_for(CustomerRepository, "customers:read")]`: the
    one dependency of an endpoint that reads or writes. It checks the caller's token and scope
    before touching the database (a 401 or 403 costs no transaction), opens the request's
    transaction for the caller's org, and yields the repository built for both; the commit
    runs before the response is sent, as with `SessionDep`."""
    async def dependency(request: Request) -> AsyncIterator[Repository]:
        async with scoped_repository(request, repository, scope) as repo:
            yield repo

    return Depends(dependency, scope="function")


@asynccontextmanager
async def scoped_repository(request: Request, repository: Callable[[AsyncSession, Principal], Repository],
                            scope: str) -> AsyncIterator[Repository]:
    """What `repository_for` yields, without FastAPI's dependency machinery (a generator
    dependency costs a hot GET about a quarter of its time): for the one-row reads, whose
    endpoint opens it with `async with`. The same token and scope check, the same transaction."""
    principal = authorised(request, scope)
    async with request_transaction(request, principal.org_path) as session:
        yield repository(session, principal)


def json_response(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """`model` rendered once, as FastAPI would render it for a `response_model` (by alias, as
    JSON), and sent as is: FastAPI neither validates nor serialises a returned Response again.
    The endpoint names the model in `response_model`, so its OpenAPI stays typed."""
    return Response(model.__pydantic_serializer__.to_json(model, by_alias=True), media_type="application/json",
                    headers=headers)


@asynccontextmanager
async def request_transaction(request: Request, org_path: str) -> AsyncIterator[AsyncSession]:
    """The request's session for `org_path`, begun by its first ORM statement: a request that
    reads only one row (shared.db.fetch_one) never begins it, and pays neither a commit nor
    a close (together a tenth of such a GET). One that began commits and closes (its objects
    detached, as before); on failure it closes, which rolls back."""
    session = request.app.state.sessions(info={"org_path": org_path})
    try:
        yield session
        if _used(session):
            await session.commit()
            await session.close()
    except BaseException:
        await session.close()
        raise
    if events_recorded(session):
        request.app.state.relay.wake()


def _used(session: AsyncSession) -> bool:
    """Whether the session began a transaction or holds objects a commit would write."""
    return session.in_transaction() or bool(session.new)


def request_org_path(request: Request) -> str:
    token = request.headers.get(INTERNAL_HEADER)
    return request.app.state.token_verifier.verify(token).org_path if token else SYSTEM_PATH


# scope="function": the commit runs when the endpoint returns, before the response goes out,
# so a client never holds a 201 for a write that did not commit.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
