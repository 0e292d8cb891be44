"""API keys (shown once, stored hashed, revocable) and users (argon2 passwords, login)."""

import hashlib

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.models import ApiKey
from tests.gateway.conftest import OrgTree, bearer, unique_code


async def stored_keys(database_url: str, org_code: str) -> list[ApiKey]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(ApiKey).where(ApiKey.org_code == org_code))).all())
    finally:
        await engine.dispose()


class TestApiKeys:
    async def test_key_is_shown_once_and_only_its_hash_is_stored(
        self, client: httpx.AsyncClient, tree: OrgTree, database_url: str,
    ) -> None:
        response = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["root"]), json={
            "org_code": tree.codes["dlr21"], "name": "DMS", "scopes": ["customers:write"]})
        assert response.status_code == 201
        key = response.json()["key"]
        assert key.startswith("csk_")
        rows = await stored_keys(database_url, tree.codes["dlr21"])
        assert [row.key_hash for row in rows] == [hashlib.sha256(key.encode()).hexdigest()]
        assert all(key not in str(value) for value in rows[0])

    async def test_new_key_authenticates_as_its_org(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        key = await tree.key_for("dlr12", ["customers:read"])
        response = await client.get("/v1/orgs", headers=bearer(key))
        assert [org["code"] for org in response.json()["items"]] == [tree.codes["dlr12"]]

    async def test_revoked_key_is_refused_with_401(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        created = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["root"]), json={
            "org_code": tree.codes["d2"], "name": "temp", "scopes": ["kpi:read"]})
        key, key_id = created.json()["key"], created.json()["id"]
        assert (await client.get("/v1/orgs", headers=bearer(key))).status_code == 200
        revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=bearer(tree.admin_keys["root"]))
        assert revoked.status_code == 204
        response = await client.get("/v1/orgs", headers=bearer(key))
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_unknown_key_and_missing_credentials_are_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/orgs", headers=bearer("csk_000000000000_nope"))).status_code == 401
        assert (await client.get("/v1/orgs", headers=bearer("not.a.jwt"))).status_code == 401
        assert (await client.get("/v1/orgs")).status_code == 401

    async def test_key_cannot_grant_scopes_its_creator_lacks(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        limited_admin = await tree.key_for("d1", ["orgs:admin", "customers:read"])
        response = await client.post("/v1/api-keys", headers=bearer(limited_admin), json={
            "org_code": tree.codes["dlr11"], "name": "greedy", "scopes": ["customers:read", "pii:read"]})
        assert response.status_code == 403
        assert "pii:read" in response.json()["detail"]

    async def test_key_for_an_org_outside_the_subtree_is_422_unknown_organisation(self, client: httpx.AsyncClient,
                                                                                  tree: OrgTree) -> None:
        response = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["dlr11"]), json={
            "org_code": tree.codes["d1"], "name": "upwards", "scopes": ["customers:read"]})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "org_code", "message": "unknown organisation"}]

    async def test_unknown_scope_is_422(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["root"]), json={
            "org_code": tree.codes["d1"], "name": "x", "scopes": ["everything"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "scopes"

    async def test_revoking_another_subtrees_key_is_404(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        created = await client.post("/v1/api-keys", headers=bearer(tree.admin_keys["root"]), json={
            "org_code": tree.codes["dlr12"], "name": "sibling's", "scopes": ["kpi:read"]})
        response = await client.delete(f"/v1/api-keys/{created.json()['id']}", headers=bearer(tree.admin_keys["dlr11"]))
        assert response.status_code == 404


class TestUsers:
    async def _user(self, client: httpx.AsyncClient, tree: OrgTree, scopes: list[str]) -> str:
        username = unique_code("user").lower()
        response = await client.post("/v1/users", headers=bearer(tree.admin_keys["d1"]), json={
            "username": username, "password": "correct horse battery", "org_code": tree.codes["dlr11"],
            "roles": ["service_advisor"], "scopes": scopes})
        assert response.status_code == 201, response.text
        assert "password" not in response.text
        return username

    async def test_login_returns_a_bearer_token_that_authenticates_as_the_users_org(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        username = await self._user(client, tree, ["customers:read"])
        response = await client.post("/v1/auth/login", json={"username": username, "password": "correct horse battery"})
        assert response.status_code == 200
        token = response.json()
        assert token["token_type"] == "bearer" and token["expires_in"] > 0
        orgs = await client.get("/v1/orgs", headers=bearer(token["access_token"]))
        assert [org["code"] for org in orgs.json()["items"]] == [tree.codes["dlr11"]]

    async def test_wrong_password_and_unknown_user_are_401(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        username = await self._user(client, tree, [])
        wrong = await client.post("/v1/auth/login", json={"username": username, "password": "wrong password!"})
        unknown = await client.post("/v1/auth/login", json={"username": "nobody-here", "password": "whatever12"})
        assert (wrong.status_code, unknown.status_code) == (401, 401)
        assert wrong.json()["detail"] == unknown.json()["detail"]

    async def test_users_token_lacking_orgs_admin_gets_403(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        username = await self._user(client, tree, ["customers:read"])
        token = (await client.post("/v1/auth/login", json={"username": username, "password": "correct horse battery"})).json()
        response = await client.post("/v1/orgs", headers=bearer(token["access_token"]), json={
            "code": unique_code("U"), "name": "x", "kind": "dealer", "parent_code": tree.codes["d1"]})
        assert response.status_code == 403

    async def test_duplicate_username_is_409(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        username = await self._user(client, tree, [])
        response = await client.post("/v1/users", headers=bearer(tree.admin_keys["d1"]), json={
            "username": username, "password": "another password", "org_code": tree.codes["dlr12"]})
        assert response.status_code == 409

    async def test_short_password_is_422(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await client.post("/v1/users", headers=bearer(tree.admin_keys["d1"]), json={
            "username": "shorty", "password": "short", "org_code": tree.codes["dlr12"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "password"


class TestFailedAuthentication:
    async def test_a_client_that_keeps_failing_gets_429_for_its_failures(self) -> None:
        from gateway.identity.authn import FAILED_AUTH_BURST, Authenticator
        from shared.problems import TooManyRequests, Unauthorized

        authenticator = Authenticator(None, "s" * 40, key_cache_seconds=30, internal_ttl_seconds=120)  # type: ignore[arg-type]
        for _ in range(FAILED_AUTH_BURST):
            with pytest.raises(Unauthorized):
                await authenticator.authenticate_from("203.0.113.9", "Bearer not-a-jwt")
        with pytest.raises(TooManyRequests) as refused:
            await authenticator.authenticate_from("203.0.113.9", "Bearer not-a-jwt")
        assert int(refused.value.headers["Retry-After"]) >= 1
        with pytest.raises(Unauthorized):  # another address is not held back
            await authenticator.authenticate_from("198.51.100.7", "Bearer not-a-jwt")
