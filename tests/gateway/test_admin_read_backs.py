"""Admin read-backs: the API keys and users of the caller's subtree, listed without any secret."""

import httpx

from tests.gateway.conftest import OrgTree, bearer, unique_code


async def listed(client: httpx.AsyncClient, key: str, path: str) -> httpx.Response:
    answer = await client.get(path, headers=bearer(key), params={"limit": 500})
    assert answer.status_code == 200, answer.text
    return answer


class TestApiKeys:
    async def test_a_distributor_lists_its_subtrees_keys_without_secrets(self, client: httpx.AsyncClient,
                                                                         tree: OrgTree) -> None:
        issued = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["d1"]), json={
            "org_code": tree.codes["dlr12"], "name": "DMS nightly", "scopes": ["customers:read"]})
        secret = issued.json()["key"]
        await client.delete(f"/v1/api-keys/{issued.json()['id']}", headers=bearer(tree.admin_keys["d1"]))
        answer = await listed(client, tree.admin_keys["d1"], "/v1/api-keys")
        by_id = {item["id"]: item for item in answer.json()["items"]}
        mine = by_id[issued.json()["id"]]
        assert mine["name"] == "DMS nightly" and mine["org_code"] == tree.codes["dlr12"]
        assert mine["revoked_at"] is not None and secret.startswith(mine["prefix"])
        assert {item["org_code"] for item in by_id.values()} <= {tree.codes[c] for c in ("d1", "dlr11", "dlr12")}
        assert secret not in answer.text and "key_hash" not in answer.text and '"key"' not in answer.text

    async def test_a_dealer_sees_only_its_own_keys(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        answer = await listed(client, tree.admin_keys["dlr11"], "/v1/api-keys")
        assert {item["org_code"] for item in answer.json()["items"]} == {tree.codes["dlr11"]}

    async def test_listing_needs_orgs_admin(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        reader = await tree.key_for("dlr11", ["customers:read"])
        assert (await client.get("/v1/api-keys", headers=bearer(reader))).status_code == 403
        assert (await client.get("/v1/users", headers=bearer(reader))).status_code == 403


class TestUsers:
    async def test_users_of_the_subtree_without_passwords(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        username = unique_code("advisor").lower()
        created = await client.post("/v1/users", headers=bearer(tree.admin_keys["d1"]), json={
            "username": username, "password": "correct horse battery", "org_code": tree.codes["dlr11"],
            "roles": ["service_advisor"], "scopes": ["customers:read"]})
        assert created.status_code == 201, created.text
        by_distributor = await listed(client, tree.admin_keys["d1"], "/v1/users")
        names = {item["username"]: item for item in by_distributor.json()["items"]}
        assert names[username]["org_code"] == tree.codes["dlr11"] and names[username]["disabled"] is False
        assert "correct horse" not in by_distributor.text and "password" not in by_distributor.text
        sibling = await listed(client, tree.admin_keys["dlr12"], "/v1/users")
        assert username not in {item["username"] for item in sibling.json()["items"]}
