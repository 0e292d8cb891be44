"""Users carry their staff code, and the login says who signed in, so the desk page knows whose
calls are "today's" (issue 14; API.md Staff)."""

import httpx
import pytest

from tests.gateway.conftest import OrgTree, bearer, unique_code

PASSWORD = "correct horse battery"


async def _user(client: httpx.AsyncClient, tree: OrgTree, **extra: object) -> httpx.Response:
    return await client.post("/v1/users", headers=bearer(tree.admin_keys["d1"]), json={
        "username": unique_code("agent").lower(), "password": PASSWORD, "org_code": tree.codes["dlr11"], **extra})


async def test_a_users_staff_code_is_kept_listed_and_told_at_login(client: httpx.AsyncClient, tree: OrgTree) -> None:
    made = await _user(client, tree, staff_code=" CR01 ")
    assert made.status_code == 201, made.text
    user = made.json()
    assert user["staff_code"] == "CR01"
    listed = (await client.get("/v1/users", headers=bearer(tree.admin_keys["d1"]), params={"limit": 500})).json()["items"]
    assert [u["staff_code"] for u in listed if u["id"] == user["id"]] == ["CR01"]
    login = await client.post("/v1/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert login.status_code == 200
    assert {k: login.json()[k] for k in ("username", "org_code", "staff_code")} == {
        "username": user["username"], "org_code": tree.codes["dlr11"], "staff_code": "CR01"}


async def test_a_user_without_a_staff_code(client: httpx.AsyncClient, tree: OrgTree) -> None:
    user = (await _user(client, tree)).json()
    assert user["staff_code"] is None
    login = await client.post("/v1/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert login.json()["staff_code"] is None


@pytest.mark.parametrize("code", ["", "CR\x0001", "x" * 101])
async def test_a_bad_staff_code_is_422(client: httpx.AsyncClient, tree: OrgTree, code: str) -> None:
    response = await _user(client, tree, staff_code=code)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["staff_code"]


async def test_an_admin_links_a_user_to_a_staff_code_with_if_match(client: httpx.AsyncClient, tree: OrgTree) -> None:
    user = (await _user(client, tree)).json()
    url, admin = f"/v1/users/{user['id']}", bearer(tree.admin_keys["d1"])
    assert (await client.patch(url, headers=admin, json={"staff_code": "CR02"})).status_code == 428
    assert (await client.patch(url, headers=admin | {"If-Match": '"v9"'}, json={"staff_code": "CR02"})).status_code == 412
    linked = await client.patch(url, headers=admin | {"If-Match": f'"v{user["version"]}"'}, json={"staff_code": "CR02"})
    assert linked.status_code == 200 and linked.headers["ETag"] == f'"v{user["version"] + 1}"'
    assert linked.json()["staff_code"] == "CR02"
    login = await client.post("/v1/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert login.json()["staff_code"] == "CR02"
    cleared = await client.patch(url, headers=admin | {"If-Match": linked.headers["ETag"]}, json={"staff_code": None})
    assert cleared.status_code == 200 and cleared.json()["staff_code"] is None


async def test_a_user_out_of_reach_is_404(client: httpx.AsyncClient, tree: OrgTree) -> None:
    user = (await _user(client, tree)).json()
    for outsider in ("dlr12", "dlr11"):  # a sibling dealer (404), then the user's own dealer (200)
        answer = await client.patch(f"/v1/users/{user['id']}", headers=bearer(tree.admin_keys[outsider]) | {
            "If-Match": '"v1"'}, json={"staff_code": "CR01"})
        assert answer.status_code == (404 if outsider == "dlr12" else 200), answer.text
