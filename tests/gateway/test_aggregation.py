"""The merged OpenAPI document and the customer 360."""

import httpx

from gateway.settings import GatewaySettings
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.gateway.conftest import OrgTree, bearer, running_gateway
from tests.gateway.upstream_fake import KNOWN_CUSTOMER


class TestMergedOpenApi:
    async def test_document_has_gateway_and_reachable_service_paths(self, client: httpx.AsyncClient) -> None:
        doc = (await client.get("/openapi.json")).json()
        paths = set(doc["paths"])
        assert {"/v1/orgs", "/v1/api-keys", "/v1/auth/login", "/v1/customers/{customer_id}/360"} <= paths
        assert {"/v1/customers/{customer_id}", "/v1/vehicles", "/v1/survey-responses"} <= paths
        assert "FakeCustomer" in doc["components"]["schemas"]
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert not any(path.startswith("/internal") for path in paths)
        assert doc["paths"]["/v1/auth/login"]["post"]["security"] == []

    async def test_every_operation_documents_the_rate_limit_fields(self, client: httpx.AsyncClient) -> None:
        doc = (await client.get("/openapi.json")).json()
        assert {"RateLimit-Policy", "RateLimit", "Retry-After"} <= set(doc["components"]["headers"])
        for path, item in doc["paths"].items():
            if path == "/v1/auth/login":
                continue
            for method, operation in item.items():
                for status, response in operation["responses"].items():
                    fields = response.get("headers", {})
                    assert {"RateLimit-Policy", "RateLimit"} <= set(fields), (method, path, status)
                    assert status != "429" or "Retry-After" in fields, (method, path)

    async def test_a_service_that_is_down_is_left_out(self, settings: GatewaySettings) -> None:
        down = settings.model_copy(update={"customer_url": settings.complaint_url, "survey_url": None})
        async with running_gateway(down) as client:
            response = await client.get("/openapi.json")
        assert response.status_code == 200
        assert "/v1/vehicles" not in response.json()["paths"]
        assert "/v1/orgs" in response.json()["paths"]

    async def test_swagger_docs_page_is_served(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/docs")
        assert response.status_code == 200 and "/openapi.json" in response.text


class TestCustomer360:
    async def test_parts_come_from_every_service_and_a_down_one_is_listed_unavailable(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await client.get(f"/v1/customers/{KNOWN_CUSTOMER}/360", headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 200
        view = response.json()
        assert view["customer"]["name"] == "Zhang Wei"
        assert view["vehicles"][0]["owner_customer_id"] == str(KNOWN_CUSTOMER)
        assert view["visits"][0]["customer_id"] == str(KNOWN_CUSTOMER)
        assert view["survey_responses"][0]["customer_id"] == str(KNOWN_CUSTOMER)
        assert view["interactions"][0]["customer_id"] == str(KNOWN_CUSTOMER)
        assert view["appointments"][0]["customer_id"] == str(KNOWN_CUSTOMER)
        assert view["complaints"] == [] and view["unavailable"] == ["complaints"]

    async def test_unknown_customer_is_404(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get("/v1/customers/00000000-0000-4000-8000-000000000001/360",
                                    headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_customer_service_down_is_503(self, settings: GatewaySettings, tree: OrgTree) -> None:
        down = settings.model_copy(update={"customer_url": settings.complaint_url})
        async with running_gateway(down) as client:
            response = await client.get(f"/v1/customers/{KNOWN_CUSTOMER}/360", headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 503

    async def test_360_needs_customers_read(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        key = await tree.key_for("d1", ["kpi:read"])
        response = await client.get(f"/v1/customers/{KNOWN_CUSTOMER}/360", headers=bearer(key))
        assert response.status_code == 403


class TestInternalOrgLookup:
    async def test_services_get_org_info_with_an_internal_token(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        token = mint_internal_token(system_principal(), "csloop-development-secret-change-me")
        response = await client.get(f"/internal/orgs/{tree.codes['dlr11']}", headers={INTERNAL_HEADER: token})
        assert response.status_code == 200
        assert response.json() == {
            "code": tree.codes["dlr11"], "name": "dlr11 org", "kind": "dealer", "parent_code": tree.codes["d1"],
            "region": "north", "path": f"/{tree.codes['root']}/{tree.codes['d1']}/{tree.codes['dlr11']}/"}

    async def test_internal_lookup_refuses_callers_without_the_internal_scope(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        assert (await client.get(f"/internal/orgs/{tree.codes['d1']}")).status_code == 401
        assert (await client.get(f"/internal/orgs/{tree.codes['d1']}", headers=bearer(tree.admin_keys["root"]))).status_code == 401
        dealer = await client.get("/v1/customers", headers=bearer(tree.admin_keys["dlr11"]))
        dealer_token = dealer.json()["headers"]["x-internal-token"]
        response = await client.get(f"/internal/orgs/{tree.codes['d1']}", headers={INTERNAL_HEADER: dealer_token})
        assert response.status_code == 403

    async def test_a_subtree_comes_in_one_answer_parents_first(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        token = mint_internal_token(system_principal(), "csloop-development-secret-change-me")
        d1_path = f"/{tree.codes['root']}/{tree.codes['d1']}/"
        response = await client.get("/internal/orgs", params={"under": d1_path}, headers={INTERNAL_HEADER: token})
        assert response.status_code == 200
        codes = [org["code"] for org in response.json()]
        assert codes[0] == tree.codes["d1"] and sorted(codes[1:]) == sorted([tree.codes["dlr11"], tree.codes["dlr12"]])
        assert (await client.get("/internal/orgs", params={"under": d1_path})).status_code == 401

    async def test_unknown_org_is_404(self, client: httpx.AsyncClient) -> None:
        token = mint_internal_token(system_principal(), "csloop-development-secret-change-me")
        assert (await client.get("/internal/orgs/NOPE-0", headers={INTERNAL_HEADER: token})).status_code == 404
