"""The KPI app in process for tests outside tests/kpi (tests/security): its own database, a stand-in
gateway directory whose calls are counted, and optional stand-ins for the source services."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.kpi.app import create_app
from services.kpi.settings import KpiSettings
from shared.orgs import OrgDirectory
from tests.support.org_directory import directory_app


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the requests the service makes to the (stand-in) gateway directory."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def running_kpi(database_url: str, secret: str, orgs: dict[str, dict[str, Any]], *,
                      source_transport: httpx.AsyncBaseTransport | None = None,
                      **settings: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, CountingTransport]]:
    """The app, a client of it, and the counter of its directory calls."""
    counter = CountingTransport(httpx.ASGITransport(directory_app(orgs)))
    directory = OrgDirectory("http://gateway.test", secret, transport=counter)
    config = KpiSettings(database_url=database_url, internal_secret=secret, relay_enabled=False, log_json=False, **settings)
    app = create_app(config, migrate=True, directory=directory, source_transport=source_transport)
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://kpi") as client:
        yield app, client, counter
