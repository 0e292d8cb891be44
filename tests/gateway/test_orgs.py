"""Organisation tree: creation rules and subtree visibility."""

import httpx

from tests.gateway.conftest import OrgTree, bearer, unique_code


class TestOrgVisibility:
    async def test_dealer_cannot_see_sibling_dealers_org(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get(f"/v1/orgs/{tree.codes['dlr12']}", headers=bearer(tree.admin_keys["dlr11"]))
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_dealer_cannot_see_its_distributor(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get(f"/v1/orgs/{tree.codes['d1']}", headers=bearer(tree.admin_keys["dlr11"]))
        assert response.status_code == 404

    async def test_distributor_sees_its_dealers_and_not_the_other_distributors(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await client.get("/v1/orgs", params={"limit": 500}, headers=bearer(tree.admin_keys["d1"]))
        assert response.status_code == 200
        codes = {org["code"] for org in response.json()["items"]}
        assert codes == {tree.codes["d1"], tree.codes["dlr11"], tree.codes["dlr12"]}
        other = await client.get(f"/v1/orgs/{tree.codes['dlr21']}", headers=bearer(tree.admin_keys["d1"]))
        assert other.status_code == 404

    async def test_org_read_carries_path_kind_and_parent(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get(f"/v1/orgs/{tree.codes['dlr11']}", headers=bearer(tree.admin_keys["d1"]))
        body = response.json()
        assert body["path"] == f"/{tree.codes['root']}/{tree.codes['d1']}/{tree.codes['dlr11']}/"
        assert (body["kind"], body["parent_code"], body["region"]) == ("dealer", tree.codes["d1"], "north")

    async def test_list_pages_with_a_cursor(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        seen, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/v1/orgs", params=params, headers=bearer(tree.admin_keys["root"]))).json()
            seen += [org["code"] for org in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert sorted(seen) == sorted(tree.codes.values())


class TestOrgCreation:
    async def test_distributor_admin_creates_dealer_under_itself(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        code = unique_code("NEW")
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["d1"]), json={
            "code": code, "name": "New dealer", "kind": "dealer", "parent_code": tree.codes["d1"], "region": "east"})
        assert response.status_code == 201
        assert response.json()["path"] == f"/{tree.codes['root']}/{tree.codes['d1']}/{code}/"

    async def test_dealer_directly_under_manufacturer_is_allowed(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["root"]), json={
            "code": unique_code("DIRECT"), "name": "Factory outlet", "kind": "dealer", "parent_code": tree.codes["root"]})
        assert response.status_code == 201

    async def test_parent_outside_callers_subtree_is_422_unknown_organisation(self, client: httpx.AsyncClient,
                                                                             tree: OrgTree) -> None:
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["d1"]), json={
            "code": unique_code("X"), "name": "Sneaky", "kind": "dealer", "parent_code": tree.codes["d2"]})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "parent_code", "message": "unknown organisation"}]

    async def test_distributor_under_a_dealer_is_422(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["root"]), json={
            "code": unique_code("BAD"), "name": "Upside down", "kind": "distributor", "parent_code": tree.codes["dlr11"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "parent_code"

    async def test_manufacturer_cannot_be_created_through_the_api(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["root"]), json={
            "code": unique_code("M2"), "name": "Other", "kind": "manufacturer", "parent_code": tree.codes["root"]})
        assert response.status_code == 422

    async def test_duplicate_code_is_409(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["root"]), json={
            "code": tree.codes["dlr21"], "name": "Again", "kind": "dealer", "parent_code": tree.codes["d1"]})
        assert response.status_code == 409

    async def test_creating_an_org_needs_orgs_admin(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        key = await tree.key_for("d1", ["customers:read"])
        response = await client.post("/v1/orgs", headers=bearer(key), json={
            "code": unique_code("NOPE"), "name": "No", "kind": "dealer", "parent_code": tree.codes["d1"]})
        assert response.status_code == 403
        assert "orgs:admin" in response.json()["detail"]

    async def test_bad_input_is_422_problem_with_field_errors_and_nothing_is_stored(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await client.post("/v1/orgs", headers=bearer(tree.admin_keys["root"]), json={
            "code": "not a code!", "name": "", "kind": "garage", "parent_code": tree.codes["root"]})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = {error["field"] for error in response.json()["errors"]}
        assert {"code", "name", "kind"} <= fields
        listed = (await client.get("/v1/orgs", params={"limit": 500}, headers=bearer(tree.admin_keys["root"]))).json()
        assert len(listed["items"]) == len(tree.codes)


class TestUnknownQueryParameters:
    async def test_the_gateways_own_routes_refuse_them_too(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.get("/v1/orgs", params={"kind": "dealer"}, headers=bearer(tree.admin_keys["root"]))
        assert response.status_code == 422
        assert "kind" in response.text
        assert (await client.get("/v1/orgs", headers=bearer(tree.admin_keys["root"]))).status_code == 200
