"""Finding 12: OAuth clients could not be listed or revoked, and revoking the API key that
registered one left it working. Now: list, read and revoke them (own subtree, never the
secret); revoking a client or the key that registered it stops its tokens within 30 s on
every gateway (at once on the one that revoked it)."""

import asyncio

import httpx

from gateway.settings import GatewaySettings
from tests.gateway.conftest import bearer, running_gateway
from tests.security.gateway_support import base_settings, gateway, org_tree, security_database_url  # noqa: F401


async def register(client: httpx.AsyncClient, admin_key: str, org_code: str, scopes: list[str]) -> dict:
    response = await client.post("/v1/oauth/clients", headers=bearer(admin_key), json={
        "org_code": org_code, "name": "DMS", "scopes": scopes})
    assert response.status_code == 201, response.text
    return response.json()


async def token_for(client: httpx.AsyncClient, dms: dict) -> httpx.Response:
    return await client.post("/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": dms["client_id"], "client_secret": dms["client_secret"]})


async def access(client: httpx.AsyncClient, dms: dict) -> str:
    response = await token_for(client, dms)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def works(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/v1/orgs", headers=bearer(token))).status_code


async def test_clients_are_listed_and_read_in_the_callers_subtree_only_without_secrets(
        gateway: httpx.AsyncClient, security_database_url: str) -> None:  # noqa: F811
    net = await org_tree(gateway, security_database_url)
    mine = await register(gateway, net.admin_keys["d1"], net.codes["dlr11"], ["customers:read"])
    theirs = await register(gateway, net.admin_keys["d1"], net.codes["dlr12"], ["customers:read"])
    listed = await gateway.get("/v1/oauth/clients", headers=bearer(net.admin_keys["dlr11"]))
    assert listed.status_code == 200
    assert [item["client_id"] for item in listed.json()["items"]] == [mine["client_id"]]
    above = await gateway.get("/v1/oauth/clients", headers=bearer(net.admin_keys["d1"]))
    assert {item["client_id"] for item in above.json()["items"]} == {mine["client_id"], theirs["client_id"]}
    one = await gateway.get(f"/v1/oauth/clients/{mine['client_id']}", headers=bearer(net.admin_keys["dlr11"]))
    assert one.status_code == 200
    assert one.json()["org_code"] == net.codes["dlr11"] and one.json()["revoked_at"] is None
    for body in (listed.text, above.text, one.text):
        assert mine["client_secret"] not in body and "secret" not in body
    foreign = f"/v1/oauth/clients/{theirs['client_id']}"
    assert (await gateway.get(foreign, headers=bearer(net.admin_keys["dlr11"]))).status_code == 404
    assert (await gateway.delete(foreign, headers=bearer(net.admin_keys["dlr11"]))).status_code == 404
    assert (await gateway.get("/v1/oauth/clients/csc_unknown", headers=bearer(net.admin_keys["dlr11"]))).status_code == 404
    assert await works(gateway, await access(gateway, theirs)) == 200  # the refused revocation changed nothing


async def test_a_revoked_client_gets_no_token_and_its_tokens_stop(
        gateway: httpx.AsyncClient, security_database_url: str) -> None:  # noqa: F811
    net = await org_tree(gateway, security_database_url)
    dms = await register(gateway, net.admin_keys["dlr11"], net.codes["dlr11"], ["customers:read"])
    issued = await access(gateway, dms)
    assert await works(gateway, issued) == 200
    revoked = await gateway.delete(f"/v1/oauth/clients/{dms['client_id']}", headers=bearer(net.admin_keys["dlr11"]))
    assert revoked.status_code == 204
    assert await works(gateway, issued) == 401
    assert (await token_for(gateway, dms)).status_code == 400
    shown = await gateway.get(f"/v1/oauth/clients/{dms['client_id']}", headers=bearer(net.admin_keys["dlr11"]))
    assert shown.json()["revoked_at"] is not None


async def test_revoking_the_key_that_registered_a_client_revokes_the_client(
        gateway: httpx.AsyncClient, security_database_url: str) -> None:  # noqa: F811
    net = await org_tree(gateway, security_database_url)
    created = await gateway.post("/v1/api-keys", headers=bearer(net.admin_keys["d1"]), json={
        "org_code": net.codes["dlr11"], "name": "integrator", "scopes": ["orgs:admin", "customers:read"]})
    key = created.json()
    dms = await register(gateway, key["key"], net.codes["dlr11"], ["orgs:admin", "customers:read"])
    issued = await access(gateway, dms)
    # ...and the client registered by that client, in turn
    nested = await register(gateway, issued, net.codes["dlr11"], ["customers:read"])
    nested_issued = await access(gateway, nested)
    other = await register(gateway, net.admin_keys["dlr11"], net.codes["dlr11"], ["customers:read"])
    assert (await gateway.delete(f"/v1/api-keys/{key['id']}", headers=bearer(net.admin_keys["d1"]))).status_code == 204
    for token in (issued, nested_issued):
        assert await works(gateway, token) == 401
    for client in (dms, nested):
        assert (await token_for(gateway, client)).status_code == 400
    assert await works(gateway, await access(gateway, other)) == 200  # another admin's client stands


async def test_another_gateway_refuses_the_revoked_clients_tokens_after_its_cache_period(
        gateway: httpx.AsyncClient, base_settings: GatewaySettings, security_database_url: str) -> None:  # noqa: F811
    net = await org_tree(gateway, security_database_url)
    dms = await register(gateway, net.admin_keys["dlr11"], net.codes["dlr11"], ["customers:read"])
    issued = await access(gateway, dms)
    # A second replica over the same database; its cache period scaled down from 30 s.
    async with running_gateway(base_settings.model_copy(update={"api_key_cache_seconds": 0.3})) as replica:
        assert await works(replica, issued) == 200  # remembered as active now
        await gateway.delete(f"/v1/oauth/clients/{dms['client_id']}", headers=bearer(net.admin_keys["dlr11"]))
        await asyncio.sleep(0.4)
        assert await works(replica, issued) == 401
