"""OAuth2 client credentials for DMS systems: tokens with a subset of the client's scopes,
accepted like login tokens; RFC 6749 errors on the token endpoint."""

import asyncio
import base64

import httpx

from gateway.settings import GatewaySettings
from tests.gateway.conftest import OrgTree, bearer, running_gateway


async def new_client(net: OrgTree, label: str, scopes: list[str]) -> dict:
    response = await net.client.post("/v1/oauth/clients", headers=bearer(net.admin_keys[label]), json={
        "org_code": net.codes[label], "name": "DMS", "scopes": scopes})
    assert response.status_code == 201, response.text
    return response.json()


async def token(client: httpx.AsyncClient, form: dict[str, str], **kwargs) -> httpx.Response:  # noqa: ANN003
    return await client.post("/v1/oauth/token", data={"grant_type": "client_credentials", **form}, **kwargs)


class TestTokenEndpoint:
    async def test_token_works_on_gateway_routes_with_the_granted_scopes(self, net: OrgTree) -> None:
        dms = await new_client(net, "dlr11", ["customers:read", "webhooks:admin"])
        response = await token(net.client, {"client_id": dms["client_id"], "client_secret": dms["client_secret"],
                                            "scope": "webhooks:admin"})
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert (body["token_type"], body["scope"], body["expires_in"]) == ("bearer", "webhooks:admin", 60)
        listed = await net.client.get("/v1/webhooks", headers=bearer(body["access_token"]))
        assert listed.status_code == 200
        # customers:read was not asked for, so this token does not carry it.
        orgs_admin = await net.client.post("/v1/oauth/clients", headers=bearer(body["access_token"]),
                                           json={"org_code": net.codes["dlr11"], "name": "x", "scopes": ["kpi:read"]})
        assert orgs_admin.status_code == 403

    async def test_http_basic_client_authentication(self, net: OrgTree) -> None:
        dms = await new_client(net, "dlr11", ["customers:read"])
        basic = base64.b64encode(f"{dms['client_id']}:{dms['client_secret']}".encode()).decode()
        response = await token(net.client, {}, headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200 and response.json()["scope"] == "customers:read"
        wrong = base64.b64encode(f"{dms['client_id']}:nope".encode()).decode()
        refused = await token(net.client, {}, headers={"Authorization": f"Basic {wrong}"})
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        assert refused.headers["www-authenticate"].startswith("Basic")

    async def test_wrong_secret_is_400_invalid_client(self, net: OrgTree) -> None:
        dms = await new_client(net, "dlr11", ["customers:read"])
        for client_id in (dms["client_id"], "csc_unknown"):
            response = await token(net.client, {"client_id": client_id, "client_secret": "wrong"})
            assert response.status_code == 400
            assert response.json()["error"] == "invalid_client" and response.json()["error_description"]

    async def test_scope_beyond_the_client_is_400_invalid_scope(self, net: OrgTree) -> None:
        dms = await new_client(net, "dlr11", ["customers:read"])
        response = await token(net.client, {"client_id": dms["client_id"], "client_secret": dms["client_secret"],
                                            "scope": "customers:read customers:write"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_scope"

    async def test_other_grants_and_bodies_are_refused(self, net: OrgTree) -> None:
        dms = await new_client(net, "dlr11", ["customers:read"])
        password = await net.client.post("/v1/oauth/token", data={"grant_type": "password", "client_id": dms["client_id"]})
        assert password.json()["error"] == "unsupported_grant_type"
        as_json = await net.client.post("/v1/oauth/token", json={"grant_type": "client_credentials"})
        assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"

    async def test_expired_token_is_401(self, net: OrgTree, hooks_settings: GatewaySettings) -> None:
        dms = await new_client(net, "dlr11", ["webhooks:admin"])
        short = hooks_settings.model_copy(update={"oauth_access_token_ttl_seconds": 3, "webhooks_dispatcher_enabled": False})
        async with running_gateway(short) as client:
            issued = await token(client, {"client_id": dms["client_id"], "client_secret": dms["client_secret"]})
            access = issued.json()["access_token"]
            assert (await client.get("/v1/webhooks", headers=bearer(access))).status_code == 200
            await asyncio.sleep(4.1)  # exp is whole seconds: up to 1 s early
            expired = await client.get("/v1/webhooks", headers=bearer(access))
        assert expired.status_code == 401
        assert expired.headers["content-type"].startswith("application/problem+json")


class TestClients:
    async def test_admin_cannot_grant_beyond_itself_or_outside_its_subtree(self, net: OrgTree) -> None:
        limited = await net.key_for("dlr11", ["orgs:admin", "customers:read"])
        beyond = await net.client.post("/v1/oauth/clients", headers=bearer(limited), json={
            "org_code": net.codes["dlr11"], "name": "DMS", "scopes": ["customers:write"]})
        assert beyond.status_code == 403
        sibling = await net.client.post("/v1/oauth/clients", headers=bearer(net.admin_keys["dlr11"]), json={
            "org_code": net.codes["dlr12"], "name": "DMS", "scopes": ["customers:read"]})
        assert sibling.status_code == 422
        assert sibling.json()["errors"] == [{"field": "org_code", "message": "unknown organisation"}]
