"""Through the gateway with real keys: who sees which customer (BOLA)."""

import uuid

import httpx
import pytest

from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e


def _phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def _customer(org: Org, dealer_code: str, **fields: object) -> dict:
    body = {"external_id": uuid.uuid4().hex[:12], "dealer_code": dealer_code, "name": "张伟", "phone": _phone(),
            "email": "zw@example.cn", "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}}
    body.update(fields)
    created = org.client.post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture(scope="module")
def tree(network: Network) -> dict[str, Org]:
    north = network.org("distributor")
    south = network.org("distributor")
    return {
        "north": north, "south": south,
        "dealer_a": network.org("dealer", north), "dealer_b": network.org("dealer", north),
        "dealer_c": network.org("dealer", south),
    }


class TestDealerIsolation:
    def test_dealer_cannot_read_other_dealers_customer(self, tree: dict[str, Org]) -> None:
        theirs = _customer(tree["dealer_b"], tree["dealer_b"].code)
        response = tree["dealer_a"].client.get(f"/v1/customers/{theirs['id']}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_dealer_cannot_update_other_dealers_customer(self, tree: dict[str, Org]) -> None:
        theirs = _customer(tree["dealer_b"], tree["dealer_b"].code)
        response = tree["dealer_a"].client.patch(f"/v1/customers/{theirs['id']}", json={"city": "Hacked"}, headers={"If-Match": '"v1"'})
        assert response.status_code == 404
        assert tree["dealer_b"].client.get(f"/v1/customers/{theirs['id']}").json()["city"] != "Hacked"

    def test_dealer_cannot_erase_other_dealers_customer(self, tree: dict[str, Org]) -> None:
        theirs = _customer(tree["dealer_b"], tree["dealer_b"].code, name="李娜")
        assert tree["dealer_a"].client.post(f"/v1/customers/{theirs['id']}/erase").status_code == 404
        assert tree["dealer_b"].client.get(f"/v1/customers/{theirs['id']}").json()["name"] == "李娜"

    def test_dealer_list_shows_only_its_own_customers(self, tree: dict[str, Org]) -> None:
        mine = _customer(tree["dealer_a"], tree["dealer_a"].code)
        theirs = _customer(tree["dealer_b"], tree["dealer_b"].code)
        ids = _all_ids(tree["dealer_a"].client)
        assert mine["id"] in ids and theirs["id"] not in ids
        filtered = tree["dealer_a"].client.get("/v1/customers", params={"dealer_code": tree["dealer_b"].code})
        assert filtered.status_code in (200, 404)
        if filtered.status_code == 200:
            assert filtered.json()["items"] == []

    def test_dealer_cannot_create_or_import_into_another_dealer(self, tree: dict[str, Org]) -> None:
        body = {"external_id": "X1", "dealer_code": tree["dealer_b"].code, "name": "王芳", "phone": _phone()}
        assert tree["dealer_a"].client.post("/v1/customers", json=body).status_code == 422  # a body field: unknown dealer
        csv = f"external_id,name,phone\nX2,王芳,{_phone()}\n"
        imported = tree["dealer_a"].client.post("/v1/customers/import", params={"dealer_code": tree["dealer_b"].code},
                                                content=csv, headers={"Content-Type": "text/csv"})
        assert imported.status_code == 404
        assert not any(c["external_id"] in ("X1", "X2") for c in _all_items(tree["dealer_b"].client))


class TestHierarchy:
    def test_distributor_sees_exactly_its_dealers_customers(self, tree: dict[str, Org]) -> None:
        a = _customer(tree["dealer_a"], tree["dealer_a"].code)
        b = _customer(tree["dealer_b"], tree["dealer_b"].code)
        c = _customer(tree["dealer_c"], tree["dealer_c"].code)
        ids = _all_ids(tree["north"].client)
        assert {a["id"], b["id"]} <= ids and c["id"] not in ids
        assert tree["north"].client.get(f"/v1/customers/{c['id']}").status_code == 404
        assert tree["north"].client.get(f"/v1/customers/{a['id']}").status_code == 200

    def test_distributor_writes_for_its_dealer_but_not_for_another_distributors(self, tree: dict[str, Org]) -> None:
        _customer(tree["north"], tree["dealer_a"].code)
        body = {"external_id": "N1", "dealer_code": tree["dealer_c"].code, "name": "赵敏", "phone": _phone()}
        assert tree["north"].client.post("/v1/customers", json=body).status_code == 422  # a body field: unknown dealer

    def test_manufacturer_sees_every_dealer(self, network: Network, tree: dict[str, Org]) -> None:
        a = _customer(tree["dealer_a"], tree["dealer_a"].code)
        c = _customer(tree["dealer_c"], tree["dealer_c"].code)
        for customer in (a, c):
            assert network.manufacturer.client.get(f"/v1/customers/{customer['id']}").status_code == 200

    def test_dealer_cannot_see_a_sibling_org(self, tree: dict[str, Org]) -> None:
        assert tree["dealer_a"].client.get(f"/v1/orgs/{tree['dealer_b'].code}").status_code == 404
        assert tree["dealer_a"].client.get(f"/v1/orgs/{tree['dealer_a'].code}").status_code == 200


class TestCredentials:
    def test_unknown_key_is_401(self, network: Network) -> None:
        response = network.client("csk_unknown_key").get("/v1/customers")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_key_without_the_scope_is_403(self, network: Network, tree: dict[str, Org]) -> None:
        reader = network.key_for(tree["dealer_a"].code, ["customers:read"])
        body = {"external_id": "R1", "dealer_code": tree["dealer_a"].code, "name": "周杰", "phone": _phone()}
        assert reader.client.post("/v1/customers", json=body).status_code == 403
        assert reader.client.get("/v1/customers").status_code == 200

    def test_service_port_without_internal_token_is_401(self, network: Network) -> None:
        customer_port = network.suite.port_base + 1
        response = httpx.get(f"http://127.0.0.1:{customer_port}/v1/customers")
        assert response.status_code == 401
        forged = httpx.get(f"http://127.0.0.1:{customer_port}/v1/customers", headers={"X-Internal-Token": "forged.token.value"})
        assert forged.status_code == 401


def _all_items(client: httpx.Client) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/customers", params=params)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


def _all_ids(client: httpx.Client) -> set[str]:
    return {item["id"] for item in _all_items(client)}
