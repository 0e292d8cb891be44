"""What one gateway replica caches stays correct when another changes the source (issue 19,
deploy/CACHES.md): two gateway apps on one database, a change through one, the other
following within its cache period (scaled down here from the 30 s of production)."""

import asyncio

import httpx
import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from tests.gateway.conftest import OrgTree, bearer, running_gateway
from tests.gateway.test_survey_integrity_edge import echoed, gateway_for

PERIOD = 0.3


async def _status(gateway: httpx.AsyncClient, key: str) -> int:
    return (await gateway.get("/v1/orgs", headers=bearer(key))).status_code


async def test_a_key_revoked_through_one_gateway_is_refused_by_another_within_its_cache_period(
        client: httpx.AsyncClient, settings: GatewaySettings, tree: OrgTree) -> None:
    created = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["d1"]), json={
        "org_code": tree.codes["dlr11"], "name": "DMS sync", "scopes": ["customers:read"]})
    assert created.status_code == 201, created.text
    key = created.json()
    async with running_gateway(settings.model_copy(update={"api_key_cache_seconds": PERIOD})) as replica:
        assert await _status(replica, key["key"]) == 200  # verified, and remembered, by the replica
        revoked = await client.delete(f"/v1/api-keys/{key['id']}", headers=bearer(tree.admin_keys["d1"]))
        assert revoked.status_code == 204
        assert await _status(client, key["key"]) == 401  # at once where it was revoked
        await asyncio.sleep(PERIOD + 0.1)
        assert await _status(replica, key["key"]) == 401  # within the period everywhere else
        assert await _status(replica, tree.admin_keys["d1"]) == 200  # the other keys stand


async def test_a_new_key_works_at_once_on_every_gateway(client: httpx.AsyncClient, settings: GatewaySettings,
                                                        tree: OrgTree) -> None:
    async with running_gateway(settings) as replica:
        assert await _status(replica, "csk_made-up-key") == 401
        created = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["d1"]), json={
            "org_code": tree.codes["dlr12"], "name": "new", "scopes": ["customers:read"]})
        assert await _status(replica, created.json()["key"]) == 200  # a refusal is never remembered


def test_the_key_cache_period_may_not_exceed_the_30_s_api_md_promises() -> None:
    assert GatewaySettings().api_key_cache_seconds == 30.0
    with pytest.raises(ValidationError):
        GatewaySettings(api_key_cache_seconds=31)


async def test_networks_set_through_one_gateway_apply_in_another_within_its_refresh_period(
        client: httpx.AsyncClient, settings: GatewaySettings, tree: OrgTree) -> None:
    dealer = tree.codes["dlr11"]
    path = f"/v1/public/surveys/inv.{dealer}.replica"
    async with gateway_for(settings.model_copy(update={"integrity_networks_cache_seconds": PERIOD})) as replica:
        assert "x-csloop-dealer-network" not in await echoed(replica, "192.0.2.100", path)  # index read: none
        await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["d1"]),
                         json={"cidrs": ["192.0.2.96/27"]})
        await asyncio.sleep(PERIOD + 0.1)
        assert (await echoed(replica, "192.0.2.100", path))["x-csloop-dealer-network"] == "1"
        await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["d1"]), json={"cidrs": []})
        await asyncio.sleep(PERIOD + 0.1)
        assert "x-csloop-dealer-network" not in await echoed(replica, "192.0.2.100", path)
