"""create_app(): the gateway's ASGI application.

Middleware order, outermost first: request id, metrics, the /metrics token check, the
rate-limit header fields, proxy (raw ASGI, for every path a service owns), body limit (for the
gateway's own routes), then FastAPI's router.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI

from gateway import view360
from gateway.web import dashboard, desk, survey_page
from gateway.identity import api, internal
from gateway.identity.authn import Authenticator
from gateway.identity.bootstrap import MIGRATIONS
from gateway.identity.idempotency import Replayed, replayed_response
from gateway.edge.limits import BodyLimitMiddleware
from gateway.identity.login_throttle import LoginThrottle
from gateway.edge.metrics_access import MetricsTokenMiddleware
from gateway.models import processed_events
from gateway.integrations.oauth import api as oauth_api
from gateway.integrations.oauth.errors import OAuthError, oauth_error_response
from gateway.edge.openapi import ServiceDocuments, docs_router
from gateway.edge.proxy import ProxyMiddleware
from gateway.edge.integrity import Integrity
from gateway.edge.ratelimit import RateLimitHeadersMiddleware
from gateway.edge.shared_ratelimit import BucketStore
from gateway.settings import GatewaySettings
from gateway.edge.upstreams import Upstreams
from gateway.integrations.webhooks import api as webhooks_api
from gateway.integrations.webhooks.consumer import WebhookConsumer
from gateway.integrations.webhooks.dispatcher import Dispatcher
from shared.auth import TokenVerifier
from shared.consumer import internal_events_router
from shared.db import create_engine, ping, refuse_superuser, session_factory
from shared.logs import RequestIdMiddleware, configure_logging
from shared.migration_process import upgrade
from shared.observability import HealthEndpoints, MetricsMiddleware, RequestMetrics, metrics_router
from shared.openapi_doc import install_openapi, operation_id
from shared.problems import install_problem_handlers
from shared.retention import EventHousekeeping
from shared.service_app import nats_subscriber
from shared.strict_query import refuse_unknown_query_parameters
from shared.tracing import install_tracing


def create_app(settings: GatewaySettings | None = None, *, migrate: bool = False) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    upstreams = Upstreams(settings)
    buckets = BucketStore(settings.redis_url, settings.redis_key_prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.refuse_superuser:
            await refuse_superuser(settings.database_url)
        if migrate:
            await upgrade(settings.database_url, MIGRATIONS, in_child=app.state.migrate_in_child)
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size,
                               max_overflow=settings.database_max_overflow)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        app.state.authenticator = Authenticator(
            app.state.sessions, settings.internal_secret, key_cache_seconds=settings.api_key_cache_seconds,
            internal_ttl_seconds=settings.internal_token_ttl_seconds,
        )
        app.state.dispatcher = Dispatcher(app.state.sessions, settings)
        app.state.consumer = WebhookConsumer(app.state.sessions, processed_events, app.state.dispatcher)
        await upstreams.open()
        await app.state.dispatcher.open()
        subscriber = nats_subscriber(settings, app.state.consumer, engine)
        if subscriber:
            subscriber.start()
        housekeeping = EventHousekeeping(app.state.sessions, timedelta(days=settings.event_retention_days),
                                         processed=processed_events).job(settings.housekeeping_interval_seconds)
        housekeeping.start()
        try:
            yield
        finally:
            await housekeeping.stop()
            if subscriber:
                await subscriber.stop()
            await app.state.dispatcher.close()
            await upstreams.close()
            await buckets.close()
            await engine.dispose()

    # The document at /openapi.json is the merged one (openapi.py), so FastAPI's own is off.
    app = FastAPI(title="CSLoop API", version="1.0.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None, generate_unique_id_function=operation_id,
                  dependencies=[Depends(refuse_unknown_query_parameters)])
    install_openapi(app)
    app.state.settings = settings
    app.state.refuse_superuser = False  # shared.serve turns it on for a real process
    app.state.migrate_in_child = False  # and this (shared.migration_process says why)
    app.state.upstreams = upstreams
    app.state.service_documents = ServiceDocuments(upstreams, settings.openapi_cache_seconds)
    app.state.token_verifier = TokenVerifier(settings.internal_secret)
    app.state.rate_limiter = buckets.buckets("caller", settings.rate_limit_per_second, settings.rate_limit_burst)
    app.state.login_throttle = LoginThrottle(buckets.buckets)
    app.state.integrity = Integrity(settings.integrity_secret, settings.integrity_networks_cache_seconds)
    install_problem_handlers(app)
    app.add_exception_handler(OAuthError, oauth_error_response)
    app.add_exception_handler(Replayed, replayed_response)

    async def database() -> None:
        await ping(app.state.engine)

    metrics = RequestMetrics(settings.service_name)
    app.include_router(metrics_router(metrics))
    app.include_router(docs_router(app))
    app.include_router(api.router)
    app.include_router(view360.router)
    app.include_router(internal.router)
    app.include_router(internal_events_router(lambda request: request.app.state.consumer))
    app.include_router(oauth_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(survey_page.router)
    app.include_router(dashboard.router)
    app.include_router(desk.router)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(ProxyMiddleware)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(MetricsTokenMiddleware, token=settings.metrics_token)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    install_tracing(app, settings)
    app.add_middleware(HealthEndpoints, readiness=[database])  # outermost: probes skip the rest
    return app
