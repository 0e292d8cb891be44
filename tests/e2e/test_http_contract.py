"""API conventions through the gateway: Idempotency-Key, ETag/If-Match, request ids, masking, 360."""

import uuid

import pytest

from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


def _body(dealer: Org) -> dict:
    return {"external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "陈杰",
            "phone": f"137{uuid.uuid4().int % 10**8:08d}", "email": "cj@example.cn"}


class TestIdempotencyKey:
    def test_a_replay_returns_the_first_response_and_creates_nothing_new(self, dealer: Org) -> None:
        body, key = _body(dealer), {"Idempotency-Key": uuid.uuid4().hex}
        first = dealer.client.post("/v1/customers", json=body, headers=key)
        again = dealer.client.post("/v1/customers", json=body, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        listed = dealer.client.get("/v1/customers", params={"phone": body["phone"]}).json()["items"]
        assert len(listed) == 1

    def test_the_same_key_with_another_body_is_refused(self, dealer: Org) -> None:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        assert dealer.client.post("/v1/customers", json=_body(dealer), headers=key).status_code == 201
        assert dealer.client.post("/v1/customers", json=_body(dealer), headers=key).status_code == 422


class TestIfMatch:
    def test_update_with_the_current_etag_succeeds_and_a_stale_one_gets_412(self, dealer: Org) -> None:
        created = dealer.client.post("/v1/customers", json=_body(dealer))
        customer_id, etag = created.json()["id"], created.headers["ETag"]
        updated = dealer.client.patch(f"/v1/customers/{customer_id}", json={"city": "天津"}, headers={"If-Match": etag})
        assert updated.status_code == 200, updated.text
        assert updated.headers["ETag"] != etag
        stale = dealer.client.patch(f"/v1/customers/{customer_id}", json={"city": "北京"}, headers={"If-Match": etag})
        assert stale.status_code == 412
        assert dealer.client.get(f"/v1/customers/{customer_id}").json()["city"] == "天津"

    def test_update_without_if_match_is_refused(self, dealer: Org) -> None:
        customer_id = dealer.client.post("/v1/customers", json=_body(dealer)).json()["id"]
        assert dealer.client.patch(f"/v1/customers/{customer_id}", json={"city": "北京"}).status_code == 428


def test_every_response_carries_the_request_id(dealer: Org) -> None:
    echoed = dealer.client.get("/v1/customers", headers={"X-Request-ID": "dms-trace-42"})
    assert echoed.headers["X-Request-ID"] == "dms-trace-42"
    assert dealer.client.get("/v1/customers/not-a-uuid").headers.get("X-Request-ID")


def test_lists_mask_phone_and_email_without_pii_read(network: Network, dealer: Org) -> None:
    body = _body(dealer)
    dealer.client.post("/v1/customers", json=body)
    reader = network.key_for(dealer.code, ["customers:read"])
    masked = reader.client.get("/v1/customers", params={"limit": 500}).json()["items"]
    assert all("****" in (item["phone"] or "****") for item in masked)
    assert not any(item["email"] == body["email"] for item in masked)
    clear = dealer.client.get("/v1/customers", params={"limit": 500}).json()["items"]
    assert any(item["email"] == body["email"] for item in clear)


def test_erasure_anonymises_the_customer(dealer: Org) -> None:
    body = _body(dealer)
    customer_id = dealer.client.post("/v1/customers", json=body).json()["id"]
    assert dealer.client.post(f"/v1/customers/{customer_id}/erase").status_code in (200, 202)
    erased = dealer.client.get(f"/v1/customers/{customer_id}").json()
    assert erased["phone"] != body["phone"] and erased["email"] != body["email"] and erased["name"] != body["name"]


def test_customer_360_assembles_every_service_s_part(dealer: Org) -> None:
    customer_id = dealer.client.post("/v1/customers", json=_body(dealer)).json()["id"]
    vin = "1M8GDM9AXKP042788"
    dealer.client.post("/v1/vehicles", json={"vin": vin, "model": "Camry", "owner_customer_id": customer_id})
    dealer.client.post("/v1/service-visits", json={"ro_number": "RO-360", "vin": vin, "customer_id": customer_id,
                                                   "dealer_code": dealer.code, "visit_type": "maintenance",
                                                   "opened_at": "2026-11-01T09:00:00+08:00"})
    dealer.client.post("/v1/complaints", json={"dealer_code": dealer.code, "customer_id": customer_id, "vin": vin,
                                               "channel": "hotline", "category": "appointment", "priority": "P4",
                                               "description": "waited"})
    view = dealer.client.get(f"/v1/customers/{customer_id}/360")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["customer"]["id"] == customer_id and body["unavailable"] == []
    assert [v["vin"] for v in body["vehicles"]] == [vin]
    assert [v["ro_number"] for v in body["visits"]] == ["RO-360"]
    assert [c["category"] for c in body["complaints"]] == ["appointment"]
    assert body["survey_responses"] == []


def test_customer_360_of_another_dealers_customer_is_404(network: Network, dealer: Org) -> None:
    other = network.org("dealer", network.org("distributor"))
    customer_id = other.client.post("/v1/customers", json=_body(other)).json()["id"]
    assert dealer.client.get(f"/v1/customers/{customer_id}/360").status_code == 404
