"""Fixtures for the gateway's security modules: the in-process gateway of tests/gateway over
its own migrated database, with settings each module narrows (import the fixtures by name)."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.app import create_app
from gateway.identity.bootstrap import MIGRATIONS, bootstrap
from gateway.settings import GatewaySettings
from shared.migrations import upgrade
from tests.gateway.conftest import ALL_SCOPES_BUT_ADMIN, OrgTree, running_gateway, unique_code
from tests.support.databases import unit_database_url


@pytest.fixture(scope="session")
async def security_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = await unit_database_url(tmp_path_factory, "gateway_security")
    await upgrade(url, MIGRATIONS)
    return url


@pytest.fixture(scope="session")
def base_settings(security_database_url: str) -> GatewaySettings:
    return GatewaySettings(database_url=security_database_url, log_json=False, log_level="WARNING",
                           webhooks_dispatcher_enabled=False)


@pytest.fixture
async def gateway(base_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(base_settings) as client:
        yield client


async def org_tree(client: httpx.AsyncClient, database_url: str, *scopes: str) -> OrgTree:
    """root > d1 > (dlr11, dlr12), admin keys for d1, dlr11, dlr12 holding `scopes` besides the usual."""
    root = unique_code("M")
    credentials = await bootstrap(database_url, root, "Test Motors")
    tree = OrgTree(client, root, credentials["api_key"])
    await tree.add_org("d1", "distributor", "root")
    for dealer in ("dlr11", "dlr12"):
        await tree.add_org(dealer, "dealer", "d1")
    for label in ("d1", "dlr11", "dlr12"):
        tree.admin_keys[label] = await tree.key_for(label, ["orgs:admin", *scopes, *ALL_SCOPES_BUT_ADMIN])
    return tree


@asynccontextmanager
async def gateway_from(settings: GatewaySettings) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """One running gateway app; `client(address)` calls it as if from that client address."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield lambda address: httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                                                base_url="http://gateway.test")
