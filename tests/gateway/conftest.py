"""Gateway test fixtures: a migrated database (PostgreSQL when CSLOOP_TEST_DATABASE_URL is set,
else SQLite), a real fake upstream under uvicorn, and the gateway app over ASGI."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.identity.bootstrap import MIGRATIONS, bootstrap
from gateway.settings import GatewaySettings
from shared.migrations import upgrade
from tests.gateway.upstream_fake import fake_service
from tests.support.databases import unit_database_url
from tests.support.suite import free_port_base

ALL_SCOPES_BUT_ADMIN = ["customers:read", "customers:write", "surveys:read", "complaints:read", "kpi:read"]


def free_port() -> int:
    return free_port_base(1)


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = await unit_database_url(tmp_path_factory, "gateway", once_per_run=True)
    await upgrade(url, MIGRATIONS)
    return url


@pytest.fixture(scope="session")
async def upstream_url() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake_service(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
def settings(database_url: str, upstream_url: str) -> GatewaySettings:
    # customer and survey: the fake; complaint: a port nobody listens on; kpi: not deployed.
    return GatewaySettings(
        database_url=database_url, customer_url=upstream_url, survey_url=upstream_url,
        complaint_url=f"http://127.0.0.1:{free_port()}", kpi_url=None, log_json=False, log_level="WARNING",
    )


@asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


@pytest.fixture(scope="session")
async def client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(settings) as client:
        yield client


def unique_code(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class OrgTree:
    """A manufacturer with two distributors, each with two dealers, and an admin key per org."""

    def __init__(self, client: httpx.AsyncClient, root_code: str, root_key: str) -> None:
        self.client = client
        self.codes: dict[str, str] = {"root": root_code}
        self.admin_keys: dict[str, str] = {"root": root_key}

    async def add_org(self, label: str, kind: str, parent: str) -> str:
        code = unique_code(label.upper())
        response = await self.client.post("/v1/orgs", headers=bearer(self.admin_keys["root"]), json={
            "code": code, "name": f"{label} org", "kind": kind, "parent_code": self.codes[parent], "region": "north"})
        assert response.status_code == 201, response.text
        self.codes[label] = code
        return code

    async def key_for(self, label: str, scopes: list[str], *, by: str = "root") -> str:
        response = await self.client.post("/v1/api-keys", headers=bearer(self.admin_keys[by]), json={
            "org_code": self.codes[label], "name": f"{label} key", "scopes": scopes})
        assert response.status_code == 201, response.text
        return response.json()["key"]


@pytest.fixture
async def tree(client: httpx.AsyncClient, database_url: str) -> OrgTree:
    root = unique_code("M")
    credentials = await bootstrap(database_url, root, "Test Motors")
    net = OrgTree(client, root, credentials["api_key"])
    await net.add_org("d1", "distributor", "root")
    await net.add_org("d2", "distributor", "root")
    for dealer, parent in (("dlr11", "d1"), ("dlr12", "d1"), ("dlr21", "d2")):
        await net.add_org(dealer, "dealer", parent)
    for label in ("d1", "dlr11", "dlr12"):
        net.admin_keys[label] = await net.key_for(label, ["orgs:admin", *ALL_SCOPES_BUT_ADMIN])
    return net
