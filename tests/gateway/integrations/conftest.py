"""Webhook and OAuth fixtures: the gateway in-process over its own database (suffix
`_webhooks_unit` on PostgreSQL, else SQLite), fast retry settings, a recording receiver."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.identity.bootstrap import MIGRATIONS, bootstrap
from gateway.settings import GatewaySettings
from shared.auth import mint_internal_token, system_principal
from shared.events import CloudEvent, new_event
from shared.migrations import upgrade
from tests.gateway.conftest import ALL_SCOPES_BUT_ADMIN, OrgTree, running_gateway, unique_code
from tests.gateway.integrations.receiver import Receiver, start_receiver
from tests.support.databases import unit_database_url


@pytest.fixture(scope="session")
async def hooks_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = await unit_database_url(tmp_path_factory, "webhooks", once_per_run=True)
    await upgrade(url, MIGRATIONS)
    return url


@pytest.fixture(scope="session")
def hooks_settings(hooks_database_url: str) -> GatewaySettings:
    return GatewaySettings(
        database_url=hooks_database_url, log_json=False, log_level="WARNING",
        webhooks_allow_private_targets=True, webhooks_retry_schedule_seconds=[0.3, 0.6, 1.2],
        webhooks_dispatch_interval_seconds=0.05, oauth_access_token_ttl_seconds=60,
    )


@pytest.fixture(scope="session")
async def gateway(hooks_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(hooks_settings) as client:
        yield client


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    receiver, runner = await start_receiver()
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def net(gateway: httpx.AsyncClient, hooks_database_url: str) -> OrgTree:
    """root > d1 > (dlr11, dlr12), admin keys with webhooks:admin for d1, dlr11, dlr12."""
    root = unique_code("M")
    credentials = await bootstrap(hooks_database_url, root, "Test Motors")
    tree = OrgTree(gateway, root, credentials["api_key"])
    await tree.add_org("d1", "distributor", "root")
    for dealer in ("dlr11", "dlr12"):
        await tree.add_org(dealer, "dealer", "d1")
    for label in ("d1", "dlr11", "dlr12"):
        tree.admin_keys[label] = await tree.key_for(label, ["orgs:admin", "webhooks:admin", *ALL_SCOPES_BUT_ADMIN])
    return tree


def org_event(tree: OrgTree, *labels: str, type_: str = "customer.created") -> CloudEvent:
    """An event of the org at the end of `labels` (root first), as a service would publish it."""
    path = "/" + "".join(tree.codes[label] + "/" for label in ("root", *labels))
    return new_event("/csloop/customer", type_, str(uuid.uuid4()), {"org_path": path, "customer_id": str(uuid.uuid4())})


async def publish(client: httpx.AsyncClient, settings: GatewaySettings, *events: CloudEvent) -> httpx.Response:
    """POST events to the gateway's /internal/events exactly as a relay does (a batch)."""
    token = mint_internal_token(system_principal(), settings.internal_secret, 60)
    response = await client.post("/internal/events", json=[e.model_dump(mode="json") for e in events],
                                 headers={"X-Internal-Token": token})
    assert response.status_code == 200, response.text
    return response
