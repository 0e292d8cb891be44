"""`python -m services.<name>`: run one service under uvicorn, optionally migrating first,
refusing a database role that row-level security does not bind unless told otherwise."""

import argparse
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from shared.settings import CommonSettings


def serve(create_app: Callable[..., FastAPI], default_port: int) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--migrate", action="store_true", help="apply this service's migrations on start")
    parser.add_argument("--allow-superuser", action="store_true",
                        help="start even as a PostgreSQL superuser or BYPASSRLS role (row-level security off)")
    args = parser.parse_args()
    app = create_app(migrate=args.migrate)
    # Checked in the lifespan, before the migrations: in-process test apps skip it.
    app.state.refuse_superuser = not args.allow_superuser
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                loop="uvloop", http="httptools", timeout_graceful_shutdown=10, **proxy_options(app.state.settings))


def proxy_options(settings: CommonSettings) -> dict[str, Any]:
    """X-Forwarded-For is believed only from the configured proxies, never by uvicorn's default."""
    trusted = settings.forwarded_allow_ips
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}
