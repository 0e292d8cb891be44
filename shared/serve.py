"""`python -m services.<name>`: run one service under uvicorn, optionally migrating first,
refusing a database role that row-level security does not bind unless told otherwise, and
draining before it stops (`DrainingServer`)."""

import argparse
import gc
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from shared.settings import CommonSettings

logger = logging.getLogger("csloop.serve")

# How long uvicorn lets in-flight requests finish once it stops listening. A pod's
# terminationGracePeriodSeconds must cover CSLOOP_DRAIN_SECONDS plus this plus the app's own
# shutdown (deploy/k8s, checked by tests/deploy).
GRACEFUL_SHUTDOWN_SECONDS = 10
# uvicorn's exit status when the app did not start.
STARTUP_FAILURE = 3


def serve(create_app: Callable[..., FastAPI], default_port: int) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--migrate", action="store_true", help="apply this service's migrations on start")
    parser.add_argument("--allow-superuser", action="store_true",
                        help="start even as a PostgreSQL superuser or BYPASSRLS role (row-level security off)")
    args = parser.parse_args()
    app = frozen_after_startup(create_app(migrate=args.migrate))
    # Checked in the lifespan, before the migrations: in-process test apps skip it.
    app.state.refuse_superuser = not args.allow_superuser
    app.state.migrate_in_child = True
    settings = app.state.settings
    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None, access_log=False,
                            loop="uvloop", http="httptools", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                            **proxy_options(settings))
    server = DrainingServer(config, app, settings.drain_seconds)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class DrainingServer(uvicorn.Server):
    """uvicorn, but a stop signal (SIGTERM, Ctrl-C) first drains: for `drain_seconds` the process
    serves every request as before while `/readyz` answers 503 (`app.state.draining`), so the
    load balancers that probe it (Kubernetes endpoints, the gateway's replica checks) stop sending
    it new requests; then uvicorn's graceful shutdown (stop listening, let in-flight requests
    finish, run the lifespan's shutdown). Without the drain, requests routed to it in the moment
    between the signal and the balancers noticing would meet a closed port.

    A second signal during the drain cuts it short; a further Ctrl-C during the graceful
    shutdown stops waiting for connections (uvicorn's force exit). The signal is not raised
    again after the shutdown (as uvicorn would): a stop that was asked for and done exits 0."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, drain_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain_seconds = drain_seconds
        self._drain_ends_at: float | None = None
        app.state.draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler: it only sets flags; the event loop acts on them in `on_tick`.
        if self._drain_ends_at is None and self._drain_seconds > 0:
            self._app.state.draining = True
            self._drain_ends_at = time.monotonic() + self._drain_seconds
        elif not self.should_exit:
            self.should_exit = True
        elif sig == signal.SIGINT:
            self.force_exit = True

    async def on_tick(self, counter: int) -> bool:
        """uvicorn's tick (every 0.1 s), which also ends the drain when its time is up."""
        if self._drain_ends_at is not None and not self.should_exit and time.monotonic() >= self._drain_ends_at:
            logger.info("drained for %.1f s (readiness 503); shutting down", self._drain_seconds)
            self.should_exit = True
        return await super().on_tick(counter)


def frozen_after_startup(app: FastAPI) -> FastAPI:
    """The app, whose objects once started (modules, routes, pydantic's validators, the engine) are moved
    out of the garbage collector's reach (`gc.freeze`). Measured in the KPI service, a full collection
    walked them for 80-400 ms (pydantic's validators are slow to traverse) and hit about one ranking in
    a hundred (p99 120 ms where p50 was 13); every process imports the same FastAPI and pydantic.
    Frozen, collections walk only what requests leave behind. Not in create_app: tests build many
    apps in one process, and frozen garbage is never collected."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with started(app) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan
    return app


def proxy_options(settings: CommonSettings) -> dict[str, Any]:
    """X-Forwarded-For is believed only from the configured proxies, never by uvicorn's default."""
    trusted = settings.forwarded_allow_ips
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}
