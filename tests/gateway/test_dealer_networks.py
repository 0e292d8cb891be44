"""`PUT/GET /v1/orgs/{code}/networks` (issue 17): a dealer's own networks, set only from above."""

import httpx
import pytest

from tests.gateway.conftest import ALL_SCOPES_BUT_ADMIN, OrgTree, bearer


async def put(client: httpx.AsyncClient, tree: OrgTree, by: str, target: str, cidrs: object) -> httpx.Response:
    return await client.put(f"/v1/orgs/{tree.codes[target]}/networks", headers=bearer(tree.admin_keys[by]),
                            json={"cidrs": cidrs})


class TestSetFromAbove:
    async def test_the_manufacturer_sets_a_dealers_networks_normalised_and_reads_them_back(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        response = await put(client, tree, "root", "dlr11",
                             [" 198.51.100.0/24", "2001:DB8:5:0::/48", "203.0.113.5", "198.51.100.0/24"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["org_code"] == tree.codes["dlr11"]
        assert body["cidrs"] == ["198.51.100.0/24", "2001:db8:5::/48", "203.0.113.5/32"]
        assert body["updated_by"] and body["updated_at"]
        read = await client.get(f"/v1/orgs/{tree.codes['dlr11']}/networks", headers=bearer(tree.admin_keys["root"]))
        assert read.status_code == 200
        assert read.json() == body

    async def test_the_distributor_above_sets_them_and_an_empty_list_clears_them(
        self, client: httpx.AsyncClient, tree: OrgTree,
    ) -> None:
        assert (await put(client, tree, "d1", "dlr11", ["192.0.2.0/28"])).json()["cidrs"] == ["192.0.2.0/28"]
        assert (await put(client, tree, "d1", "dlr11", [])).json()["cidrs"] == []

    async def test_never_set_reads_as_empty(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        read = await client.get(f"/v1/orgs/{tree.codes['dlr12']}/networks", headers=bearer(tree.admin_keys["d1"]))
        assert read.json() == {"org_code": tree.codes["dlr12"], "cidrs": [], "updated_by": None, "updated_at": None}

    async def test_the_dealer_cannot_set_its_own_networks(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        assert (await put(client, tree, "root", "dlr11", ["198.51.100.0/24"])).status_code == 200
        response = await put(client, tree, "dlr11", "dlr11", [])
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        read = await client.get(f"/v1/orgs/{tree.codes['dlr11']}/networks", headers=bearer(tree.admin_keys["dlr11"]))
        assert read.json()["cidrs"] == ["198.51.100.0/24"]  # unchanged; the dealer may read them

    async def test_another_subtree_is_not_found(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        assert (await put(client, tree, "d1", "dlr21", ["192.0.2.0/28"])).status_code == 404
        assert (await put(client, tree, "dlr11", "dlr12", ["192.0.2.0/28"])).status_code == 404
        read = await client.get(f"/v1/orgs/{tree.codes['dlr21']}/networks", headers=bearer(tree.admin_keys["d1"]))
        assert read.status_code == 404
        assert (await client.get(f"/v1/orgs/{tree.codes['dlr21']}/networks",
                                 headers=bearer(tree.admin_keys["root"]))).json()["cidrs"] == []

    async def test_only_dealers_have_networks(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        response = await put(client, tree, "root", "d1", ["192.0.2.0/28"])
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "code"

    async def test_without_orgs_admin_it_is_403(self, client: httpx.AsyncClient, tree: OrgTree) -> None:
        tree.admin_keys["reader"] = await tree.key_for("d1", ALL_SCOPES_BUT_ADMIN)
        assert (await put(client, tree, "reader", "dlr11", ["192.0.2.0/28"])).status_code == 403


@pytest.mark.parametrize("cidrs", [
    ["10.0.0.1/24"],  # host bits set
    ["0.0.0.0/0"], ["::/0"], ["10.0.0.0/8"], ["2001:db8::/32"],  # an internet provider's, not a showroom's
    ["1.2.3.4/33"], ["not-an-address"], [""], ["010.0.0.0/24"], ["192.0.2.0/24\x00"], ["192.0.2.0/24; DROP TABLE orgs"],
    ["fe80::1%eth0/128"], ["9" * 500], [["192.0.2.0/24"]], [24], "192.0.2.0/24", None,
    [f"192.0.2.{i}" for i in range(51)],
])
async def test_hostile_networks_are_a_422_problem_and_change_nothing(
    client: httpx.AsyncClient, tree: OrgTree, cidrs: object,
) -> None:
    assert (await put(client, tree, "root", "dlr11", ["198.51.100.0/24"])).status_code == 200
    response = await put(client, tree, "root", "dlr11", cidrs)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    read = await client.get(f"/v1/orgs/{tree.codes['dlr11']}/networks", headers=bearer(tree.admin_keys["root"]))
    assert read.json()["cidrs"] == ["198.51.100.0/24"]


async def test_unknown_fields_are_refused(client: httpx.AsyncClient, tree: OrgTree) -> None:
    response = await client.put(f"/v1/orgs/{tree.codes['dlr11']}/networks", headers=bearer(tree.admin_keys["root"]),
                                json={"cidrs": [], "org_code": tree.codes["dlr12"]})
    assert response.status_code == 422
