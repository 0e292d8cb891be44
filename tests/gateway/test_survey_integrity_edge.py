"""What the gateway passes the survey service on the public survey routes (issue 17): salted
hashes of address and device, never the raw values, and the dealer-network flag only for an
address in the networks of the invitation's own dealer. The survey service is the fake of
upstream_fake.py (a real HTTP server), whose token look-up says `inv.<DEALER>.x` is DEALER's."""

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.app import create_app
from gateway.edge.integrity import NetworkIndex, client_hash, device_hash
from gateway.settings import GatewaySettings
from gateway.web.survey_page import upstream
from shared.auth import TokenVerifier
from shared.settings import DEVELOPMENT_SECRET
from tests.gateway.conftest import OrgTree, bearer
from tests.gateway.upstream_fake import DEALER_LOOKUPS

UA = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"


@asynccontextmanager
async def gateway_for(settings: GatewaySettings) -> AsyncIterator[object]:
    """The app in its lifespan; requests come from whichever address `from_address` names."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def from_address(app: object, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40123))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


async def echoed(app: object, address: str, path: str, method: str = "GET", **headers: str) -> dict[str, str]:
    async with from_address(app, address) as client:
        response = await client.request(method, path, json={"answers": {}} if method == "POST" else None,
                                         headers={"User-Agent": UA, **headers})
    assert response.status_code in (200, 201), response.text
    return response.json()["headers"]


class TestHashes:
    def test_the_hash_is_hmac_sha256_under_the_secret(self) -> None:
        assert client_hash("s1", "198.51.100.7") == hmac.new(b"s1", b"198.51.100.7", hashlib.sha256).hexdigest()
        assert device_hash("s1", "198.51.100.7", UA) == hmac.new(
            b"s1", f"198.51.100.7\n{UA}".encode(), hashlib.sha256).hexdigest()
        assert client_hash("s1", "198.51.100.7") != client_hash("s2", "198.51.100.7")
        # Without the secret, the address space cannot be hashed through to find the address.
        assert client_hash("s1", "198.51.100.7") != hashlib.sha256(b"198.51.100.7").hexdigest()

    async def test_the_same_address_hashes_differently_under_two_deployments_secrets(
        self, settings: GatewaySettings,
    ) -> None:
        seen = {}
        for secret in ("first-deployment-secret", "second-deployment-secret"):
            async with gateway_for(settings.model_copy(update={"integrity_secret": secret})) as app:
                seen[secret] = await echoed(app, "198.51.100.7", "/v1/public/surveys/tok-a")
        first, second = seen.values()
        assert first["x-csloop-client-hash"] != second["x-csloop-client-hash"]
        assert first["x-csloop-device-hash"] != second["x-csloop-device-hash"]
        assert first["x-csloop-client-hash"] == client_hash("first-deployment-secret", "198.51.100.7")
        assert second["x-csloop-device-hash"] == device_hash("second-deployment-secret", "198.51.100.7", UA)

    async def test_raw_address_and_agent_never_reach_the_survey_service_as_hashes(self, settings: GatewaySettings) -> None:
        async with gateway_for(settings) as app:
            for method, path in (("GET", "/v1/public/surveys/tok-b"), ("POST", "/v1/public/surveys/tok-b/responses")):
                headers = await echoed(app, "198.51.100.7", path, method)
                assert "x-forwarded-for" not in headers
                assert len(headers["x-csloop-client-hash"]) == 64 and len(headers["x-csloop-device-hash"]) == 64
                int(headers["x-csloop-client-hash"], 16)
                for name in ("x-csloop-client-hash", "x-csloop-device-hash"):
                    assert "198.51.100.7" not in headers[name] and "Mozilla" not in headers[name]
                assert headers["x-csloop-client-hash"] != headers["x-csloop-device-hash"]
            other_device = await echoed(app, "198.51.100.7", "/v1/public/surveys/tok-b", **{"User-Agent": "curl/8.5.0"})
            assert other_device["x-csloop-client-hash"] == headers["x-csloop-client-hash"]
            assert other_device["x-csloop-device-hash"] != headers["x-csloop-device-hash"]

    async def test_the_headers_come_with_the_gateways_internal_token_and_a_caller_cannot_forge_them(
        self, settings: GatewaySettings,
    ) -> None:
        async with gateway_for(settings) as app:
            headers = await echoed(app, "203.0.113.9", "/v1/public/surveys/tok-c", **{
                "X-CSLoop-Dealer-Network": "1", "X-CSLoop-Client-Hash": "0" * 64, "X-Internal-Token": "forged"})
        assert "x-csloop-dealer-network" not in headers
        assert headers["x-csloop-client-hash"] == client_hash(settings.integrity_secret, "203.0.113.9")
        attester = TokenVerifier(DEVELOPMENT_SECRET).verify(headers["x-internal-token"])
        assert (attester.org_path, attester.scopes) == ("/", frozenset({"integrity:attest"}))

    async def test_other_public_requests_carry_neither_hashes_nor_the_address(self, settings: GatewaySettings) -> None:
        async with gateway_for(settings) as app:
            for method, path in (("GET", "/v1/public/surveys/tok-d/receipt"), ("POST", "/v1/public/surveys/tok-d")):
                headers = await echoed(app, "198.51.100.7", path, method)
                assert not {"x-csloop-client-hash", "x-forwarded-for", "x-internal-token"} & set(headers)


class TestDealerNetwork:
    async def test_flagged_only_from_the_invitations_own_dealers_network(
        self, client: httpx.AsyncClient, tree: OrgTree, settings: GatewaySettings,
    ) -> None:
        dealer, sibling = tree.codes["dlr11"], tree.codes["dlr12"]
        response = await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["d1"]),
                                    json={"cidrs": ["198.51.100.0/24", "2001:db8:5::/48"]})
        assert response.status_code == 200
        async with gateway_for(settings) as app:
            for address in ("198.51.100.7", "2001:db8:5:1::20", "::ffff:198.51.100.8"):
                for method, path in (("GET", f"/v1/public/surveys/inv.{dealer}.a"),
                                     ("POST", f"/v1/public/surveys/inv.{dealer}.a/responses")):
                    assert (await echoed(app, address, path, method))["x-csloop-dealer-network"] == "1"
            # The sibling dealer's invitation answered from this dealer's showroom: not its network.
            assert "x-csloop-dealer-network" not in await echoed(app, "198.51.100.7", f"/v1/public/surveys/inv.{sibling}.b")
            for outside in ("198.51.101.7", "2001:db8:6::1", "10.0.0.1"):
                assert "x-csloop-dealer-network" not in await echoed(app, outside, f"/v1/public/surveys/inv.{dealer}.a")
            # An unknown token (the survey service answers 404) raises no flag.
            assert "x-csloop-dealer-network" not in await echoed(app, "198.51.100.7", "/v1/public/surveys/no-such-token")

    async def test_the_token_is_looked_up_once_and_only_for_an_address_in_some_network(
        self, client: httpx.AsyncClient, tree: OrgTree, settings: GatewaySettings,
    ) -> None:
        dealer = tree.codes["dlr21"]
        await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["root"]),
                         json={"cidrs": ["192.0.2.16/28"]})
        token = f"inv.{dealer}.cache"
        async with gateway_for(settings) as app:
            await echoed(app, "203.0.113.200", f"/v1/public/surveys/{token}")
            assert token not in DEALER_LOOKUPS  # no network holds that address: nothing to ask
            for _ in range(3):
                assert (await echoed(app, "192.0.2.17", f"/v1/public/surveys/{token}"))["x-csloop-dealer-network"] == "1"
            assert DEALER_LOOKUPS.count(token) == 1

    async def test_a_change_of_networks_applies_at_once_in_the_process_that_took_it(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        dealer = tree.codes["dlr12"]
        path = f"/v1/public/surveys/inv.{dealer}.now"
        app = client._transport.app  # the session's gateway: the same process takes the PUT
        assert "x-csloop-dealer-network" not in await echoed(app, "192.0.2.200", path)
        await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["d1"]),
                         json={"cidrs": ["192.0.2.192/26"]})
        assert (await echoed(app, "192.0.2.200", path))["x-csloop-dealer-network"] == "1"
        await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["d1"]), json={"cidrs": []})
        assert "x-csloop-dealer-network" not in await echoed(app, "192.0.2.200", path)


class TestSurveyPage:
    async def test_the_pages_calls_carry_the_hashes_and_the_flag_but_not_the_address(
        self, client: httpx.AsyncClient, tree: OrgTree, settings: GatewaySettings,
    ) -> None:
        dealer = tree.codes["dlr11"]
        await client.put(f"/v1/orgs/{dealer}/networks", headers=bearer(tree.admin_keys["root"]),
                         json={"cidrs": ["198.51.100.0/24"]})
        async with gateway_for(settings) as app:
            visitor = upstream.Client("198.51.100.9", UA)
            for reply in (await upstream.read_survey(app.state, f"inv.{dealer}.p", visitor),
                          await upstream.submit(app.state, f"inv.{dealer}.p", {"q1": 5}, visitor)):
                headers = reply.body["headers"]
                assert headers["x-csloop-client-hash"] == client_hash(settings.integrity_secret, "198.51.100.9")
                assert headers["x-csloop-device-hash"] == device_hash(settings.integrity_secret, "198.51.100.9", UA)
                assert headers["x-csloop-dealer-network"] == "1"
                assert "x-forwarded-for" not in headers
            elsewhere = await upstream.read_survey(app.state, f"inv.{dealer}.p", upstream.Client("203.0.113.1", UA))
            assert "x-csloop-dealer-network" not in elsewhere.body["headers"]


def test_the_index_matches_by_prefix_for_both_families() -> None:
    index = NetworkIndex([("A", ["198.51.100.0/24", "2001:db8:5::/48"]), ("B", ["198.51.100.128/25"]),
                          ("C", ["203.0.113.5/32"])])
    assert index.dealers_of("198.51.100.200") == {"A", "B"}
    assert index.dealers_of("198.51.100.1") == {"A"}
    assert index.dealers_of("2001:db8:5:ffff::1") == {"A"}
    assert index.dealers_of("203.0.113.5") == {"C"} and index.dealers_of("203.0.113.6") == set()
    assert index.dealers_of("unknown") == set() and NetworkIndex([]).dealers_of("198.51.100.1") == set()


def test_production_refuses_the_public_development_integrity_secret() -> None:
    production = {"environment": "production", "internal_secret": "s" * 40,
                  "webhooks_secret_keys": "mOXfnPc0SGyfWP8yQXIbcJd1aRdDqzGBNvRz9mHMyd8="}
    with pytest.raises(ValueError, match="CSLOOP_INTEGRITY_SECRET must be set"):
        GatewaySettings(**production)
    assert GatewaySettings(**production, integrity_secret="i" * 40).integrity_secret == "i" * 40
