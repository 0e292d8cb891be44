"""The proxy against a real upstream: forwarding, credentials, streaming, limits, failures."""

import hashlib

import time

import httpx

from gateway.settings import GatewaySettings
from shared.auth import TokenVerifier
from shared.settings import DEVELOPMENT_SECRET
from tests.gateway.conftest import OrgTree, bearer, running_gateway

MIB = 1024 * 1024


class TestForwarding:
    async def test_method_path_query_body_and_selected_headers_reach_the_service(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await client.post(
            "/v1/customers?dealer_code=X&q=a%20b", content=b'{"name": "Li"}',
            headers=bearer(tree.admin_keys["dlr11"]) | {
                "Content-Type": "application/json", "Idempotency-Key": "k-1", "If-Match": '"v0"',
                "Cookie": "session=secret", "X-Custom": "dropped"},
        )
        assert response.status_code == 201
        echo = response.json()
        assert (echo["method"], echo["path"], echo["query"]) == ("POST", "/v1/customers", "dealer_code=X&q=a%20b")
        assert echo["body_length"] == len(b'{"name": "Li"}')
        headers = echo["headers"]
        assert headers["content-type"] == "application/json"
        assert (headers["idempotency-key"], headers["if-match"]) == ("k-1", '"v0"')
        assert "cookie" not in headers and "x-custom" not in headers

    async def test_authorization_is_stripped_and_an_internal_token_carries_the_callers_principal(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await client.get("/v1/vehicles/LFV2A21K8H4000001", headers=bearer(tree.admin_keys["dlr11"]))
        headers = response.json()["headers"]
        assert "authorization" not in headers
        principal = TokenVerifier(DEVELOPMENT_SECRET).verify(headers["x-internal-token"])
        assert principal.org_code == tree.codes["dlr11"]
        assert principal.org_path.endswith(f"/{tree.codes['dlr11']}/")
        assert "customers:read" in principal.scopes and principal.org_kind == "dealer"

    async def test_service_status_and_response_headers_come_back(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/complaint-x", headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 404  # not a routed prefix: the gateway's own 404
        response = await client.post("/v1/survey-invitations", json={}, headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 201
        assert response.headers["etag"] == '"v1"'
        assert response.headers["location"] == "/v1/survey-invitations/1"
        assert response.headers["retry-after"] == "7"
        assert response.headers["x-upstream"] == "fake"

    async def test_request_id_is_forwarded_and_echoed(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get("/v1/follow-ups", headers=bearer(tree.admin_keys["root"]) | {"X-Request-ID": "trace-123"})
        assert response.headers["x-request-id"] == "trace-123"
        assert response.json()["headers"]["x-request-id"] == "trace-123"
        generated = await client.get("/v1/follow-ups", headers=bearer(tree.admin_keys["root"]))
        assert generated.json()["headers"]["x-request-id"] == generated.headers["x-request-id"]

    async def test_routed_path_without_credentials_is_401_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/customers")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["x-request-id"]

    async def test_revoked_key_is_refused_by_the_proxy_too(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        created = (await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["root"]), json={
            "org_code": tree.codes["d1"], "name": "t", "scopes": ["customers:read"]})).json()
        assert (await client.get("/v1/customers", headers=bearer(created["key"]))).status_code == 200
        await client.delete(f"/v1/api-keys/{created['id']}", headers=bearer(tree.admin_keys["root"]))
        assert (await client.get("/v1/customers", headers=bearer(created["key"]))).status_code == 401

    async def test_public_survey_needs_no_credentials_and_forwards_no_principal(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/public/surveys/tok-123", headers={"Authorization": "Bearer junk"})
        assert response.status_code == 200
        headers = response.json()["headers"]
        assert "authorization" not in headers
        # Only the integrity attester's token (edge/integrity.py): one scope, never the caller's.
        attester = TokenVerifier(DEVELOPMENT_SECRET).verify(headers["x-internal-token"])
        assert (attester.org_path, attester.scopes) == ("/", frozenset({"integrity:attest"}))


class TestUnavailableServices:
    async def test_service_that_is_down_is_503_problem_quickly(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        started = time.perf_counter()
        response = await client.get("/v1/complaints", headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "complaint" in response.json()["detail"]
        assert time.perf_counter() - started < 1.5

    async def test_service_not_deployed_is_503_problem(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get("/v1/kpi/summary", headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 503
        assert response.json()["status"] == 503


class TestStreaming:
    async def test_large_chunked_import_streams_through_to_the_service(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        chunk = b"external_id,name,phone\n" + b"E1,Wang,13800000000\n" * 4000
        total = 60

        async def body():  # noqa: ANN202
            for _ in range(total):
                yield chunk

        response = await client.post("/v1/customers/import?dealer_code=X", content=body(),
                                     headers=bearer(tree.admin_keys["root"]) | {"Content-Type": "text/csv"})
        assert response.status_code == 201
        echo = response.json()
        assert echo["body_length"] == len(chunk) * total > 4 * MIB
        assert echo["body_sha256"] == hashlib.sha256(chunk * total).hexdigest()

    async def test_large_body_with_content_length_streams_through(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        body = b"0123456789abcdef" * (3 * MIB // 16)
        response = await client.post("/v1/customers/import?dealer_code=X", content=body,
                                     headers=bearer(tree.admin_keys["root"]) | {"Content-Type": "text/csv"})
        echo = response.json()
        assert echo["headers"]["content-length"] == str(len(body))
        assert (echo["body_length"], echo["body_sha256"]) == (len(body), hashlib.sha256(body).hexdigest())

    async def test_large_response_streams_back_whole(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get("/v1/follow-ups/stream?chunks=200", headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 200
        lines = response.content.split(b"\n")[:-1]
        assert len(lines) == 200 * 1000 and lines[-1] == b"000000199"


class TestBodyLimit:
    async def test_body_declared_over_the_limit_is_413_before_forwarding(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await client.post("/v1/customers", content=b"x" * (MIB + 1), headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_chunked_body_growing_over_the_limit_is_413(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        async def body():  # noqa: ANN202
            for _ in range(20):
                yield b"y" * (128 * 1024)

        response = await client.post("/v1/customers", content=body(), headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 413

    async def test_own_endpoints_have_the_limit_too(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/orgs", content=b"{" + b" " * (2 * MIB) + b"}",
                                     headers=bearer(tree.admin_keys["root"]) | {"Content-Type": "application/json"})
        assert response.status_code == 413


class TestRateLimit:
    async def test_key_over_its_rate_gets_429_with_retry_after(self, settings: GatewaySettings, tree: OrgTree) -> None:
        strict = settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 3})
        async with running_gateway(strict) as client:
            statuses = [(await client.get("/v1/customers", headers=bearer(tree.admin_keys["dlr12"]))).status_code
                        for _ in range(4)]
            limited = await client.get("/v1/orgs", headers=bearer(tree.admin_keys["dlr12"]))
            other_key = await client.get("/v1/customers", headers=bearer(tree.admin_keys["dlr11"]))
        assert statuses == [200, 200, 200, 429]
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert other_key.status_code == 200


    async def test_every_limited_answer_tells_the_caller_where_it_stands(self, settings: GatewaySettings,
                                                                         tree: OrgTree) -> None:
        strict = settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 3})
        async with running_gateway(strict) as client:
            proxied = await client.get("/v1/customers", headers=bearer(tree.admin_keys["dlr12"]))
            own = await client.get("/v1/orgs", headers=bearer(tree.admin_keys["dlr12"]))
            missing = await client.get("/v1/customers/00000000-0000-0000-0000-000000000000",
                                       headers=bearer(tree.admin_keys["dlr12"]))
            limited = await client.get("/v1/customers", headers=bearer(tree.admin_keys["dlr12"]))
            anonymous = await client.get("/v1/customers")
        # A bucket of 3 refilled at 0.5/s: full again 6 s after it was emptied.
        for answer in (proxied, own, missing, limited):
            assert answer.headers["ratelimit-policy"] == '"default";q=3;w=6'
        assert proxied.status_code == 200 and proxied.headers["ratelimit"] == '"default";r=2;t=2'
        assert own.status_code == 200 and own.headers["ratelimit"].startswith('"default";r=1;t=')
        assert missing.status_code == 404 and missing.headers["ratelimit"].startswith('"default";r=0;t=')
        assert limited.status_code == 429 and limited.headers["ratelimit"].startswith('"default";r=0;t=')
        assert int(limited.headers["retry-after"]) >= 1
        assert anonymous.status_code == 401 and "ratelimit" not in anonymous.headers  # no caller, no bucket


class TestHealth:
    async def test_livez_readyz_and_metrics(self, client: httpx.AsyncClient, tree: OrgTree,
                                            settings: GatewaySettings) -> None:
        assert (await client.get("/livez")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).status_code == 200
        await client.get("/v1/customers", headers=bearer(tree.admin_keys["root"]))
        assert (await client.get("/metrics")).status_code == 404  # no scrape token configured
        async with running_gateway(settings.model_copy(update={"metrics_token": "scrape-me"})) as scraped:
            await scraped.get("/v1/customers", headers=bearer(tree.admin_keys["root"]))
            metrics = (await scraped.get("/metrics", headers=bearer("scrape-me"))).text
        assert 'route="/v1/customers*"' in metrics
