"""Finding 8: failed-auth throttling by client address was checked before the credentials, so
behind NAT or an ingress one client failing locked out everyone at that address. Valid
credentials are never refused for someone else's failures, and X-Forwarded-For names the
client only when it comes from a configured proxy."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from gateway.app import create_app
from gateway.identity.authn import FAILED_AUTH_BURST
from gateway.settings import GatewaySettings
from shared.serve import proxy_options
from tests.gateway.conftest import bearer, free_port
from tests.security.gateway_support import base_settings, org_tree, security_database_url  # noqa: F401

SHARED_ADDRESS = "203.0.113.50"  # one NAT, many dealers' systems


@asynccontextmanager
async def from_address(settings: GatewaySettings, address: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


async def test_a_neighbours_failures_do_not_lock_out_valid_keys_and_tokens(
        base_settings: GatewaySettings, security_database_url: str) -> None:  # noqa: F811
    async with from_address(base_settings, SHARED_ADDRESS) as client:
        tree = await org_tree(client, security_database_url)
        fresh_key = await tree.key_for("dlr12", ["customers:read"])  # never used yet: not cached
        for n in range(FAILED_AUTH_BURST + 5):
            await client.get("/v1/orgs", headers=bearer(f"csk_made_up_{n}"))
        refused = await client.get("/v1/orgs", headers=bearer("csk_made_up_again"))
        assert refused.status_code == 429, refused.text  # the failing client is held back...
        assert int(refused.headers["Retry-After"]) >= 1
        for key in (fresh_key, tree.admin_keys["dlr11"]):  # ...its neighbours are not
            assert (await client.get("/v1/orgs", headers=bearer(key))).status_code == 200
        # the proxied routes answer past authentication too (the customer service is not deployed: 503)
        assert (await client.get("/v1/customers", headers=bearer(fresh_key))).status_code == 503


def test_x_forwarded_for_is_trusted_from_no_one_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSLOOP_FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable is not what decides
    assert proxy_options(GatewaySettings()) == {"proxy_headers": False, "forwarded_allow_ips": []}
    monkeypatch.setenv("CSLOOP_FORWARDED_ALLOW_IPS", "10.0.0.2,10.8.0.0/16")
    assert proxy_options(GatewaySettings()) == {"proxy_headers": True, "forwarded_allow_ips": ["10.0.0.2", "10.8.0.0/16"]}


async def _client_seen_by_server(options: dict, forwarded_for: str) -> str:
    async def app(scope, receive, send) -> None:  # noqa: ANN001
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["client"][0].encode()})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                                           **options))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-For": forwarded_for})
        return response.text
    finally:
        server.should_exit = True
        await task


async def test_a_local_caller_cannot_claim_another_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSLOOP_FORWARDED_ALLOW_IPS", raising=False)
    assert await _client_seen_by_server(proxy_options(GatewaySettings()), "198.51.100.1") == "127.0.0.1"
    monkeypatch.setenv("CSLOOP_FORWARDED_ALLOW_IPS", "127.0.0.1")
    assert await _client_seen_by_server(proxy_options(GatewaySettings()), "198.51.100.1") == "198.51.100.1"
