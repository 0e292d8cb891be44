"""Bad input on every customer-service write, through the gateway: a 4xx problem and nothing stored."""

import uuid

import pytest

from tests.support.staff import on_staff
from tests.support.suite import Network, Org

pytestmark = pytest.mark.e2e

GOOD_VIN = "1M8GDM9AXKP042788"
BAD_VIN = "1M8GDM9A1KP042788"  # wrong check digit


@pytest.fixture(scope="module")
def dealer(network: Network) -> Org:
    return network.org("dealer", network.org("distributor"))


@pytest.fixture(scope="module")
def customer(dealer: Org) -> dict:
    created = dealer.client.post("/v1/customers", json={"external_id": "BI-1", "dealer_code": dealer.code, "name": "王伟", "phone": "13911112222"})
    assert created.status_code == 201, created.text
    return created.json()


def _write_endpoints(dealer: Org, customer: dict) -> dict[str, dict]:
    """A valid body per write endpoint; each test breaks one thing in it."""
    return {
        "/v1/customers": {"external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "李娜", "phone": "13800001111"},
        "/v1/vehicles": {"vin": GOOD_VIN, "model": "Camry", "model_year": 2024, "plate": "京A12345", "owner_customer_id": customer["id"]},
        "/v1/deliveries": {"vin": GOOD_VIN, "customer_id": customer["id"], "dealer_code": dealer.code,
                           "delivered_at": "2026-10-01T10:00:00+08:00", "sales_consultant": on_staff(dealer, "刘洋", "sales_consultant")},
        "/v1/service-visits": {"ro_number": "RO-BI-1", "vin": GOOD_VIN, "customer_id": customer["id"], "dealer_code": dealer.code,
                               "visit_type": "repair", "opened_at": "2026-10-02T09:00:00+08:00", "closed_at": "2026-10-02T17:00:00+08:00",
                               "symptom_codes": ["BRK-01"], "op_codes": ["OP-1"], "mileage_km": 1200, "amount_minor": 50000, "advisor": on_staff(dealer, "陈静")},
        "/v1/prospects": {"dealer_code": dealer.code, "name": "黄磊", "phone": "13700002222", "intended_model": "RAV4", "level": "H", "source": "walk-in"},
    }


def _assert_problem(response, statuses: tuple[int, ...] = (400, 415, 422)) -> dict:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    return body


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/vehicles", "/v1/deliveries", "/v1/service-visits", "/v1/prospects"])
class TestEveryWriteEndpoint:
    def test_malformed_json_is_a_problem(self, dealer: Org, path: str) -> None:
        _assert_problem(dealer.client.post(path, content=b'{"name": ', headers={"Content-Type": "application/json"}))

    def test_unknown_fields_are_refused(self, dealer: Org, customer: dict, path: str) -> None:
        body = {**_write_endpoints(dealer, customer)[path], "is_admin": True}
        problem = _assert_problem(dealer.client.post(path, json=body), (422,))
        assert any(error["field"].endswith("is_admin") for error in problem["errors"])

    def test_wrong_types_are_refused_naming_the_field(self, dealer: Org, customer: dict, path: str) -> None:
        body = _write_endpoints(dealer, customer)[path]
        field = next(iter(body))
        problem = _assert_problem(dealer.client.post(path, json={**body, field: {"nested": [1, 2]}}), (422,))
        assert any(error["field"].startswith(field) for error in problem["errors"])

    def test_an_oversize_body_is_413(self, dealer: Org, path: str) -> None:
        huge = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        _assert_problem(dealer.client.post(path, content=huge, headers={"Content-Type": "application/json"}), (413,))


def test_invalid_vin_is_refused_and_nothing_stored(dealer: Org, customer: dict) -> None:
    body = {**_write_endpoints(dealer, customer)["/v1/vehicles"], "vin": BAD_VIN}
    problem = _assert_problem(dealer.client.post("/v1/vehicles", json=body), (422,))
    assert any(error["field"] == "vin" for error in problem["errors"])
    assert dealer.client.get(f"/v1/vehicles/{BAD_VIN}").status_code in (404, 422)


def test_invalid_phone_is_refused_and_nothing_stored(dealer: Org) -> None:
    external_id = uuid.uuid4().hex
    body = {"external_id": external_id, "dealer_code": dealer.code, "name": "坏号码", "phone": "12345"}
    problem = _assert_problem(dealer.client.post("/v1/customers", json=body), (422,))
    assert any(error["field"] == "phone" for error in problem["errors"])
    names = [c["name"] for c in dealer.client.get("/v1/customers", params={"limit": 500}).json()["items"]]
    assert "坏号码" not in names


def test_same_phone_at_same_dealer_is_409_naming_the_existing_customer(dealer: Org, customer: dict) -> None:
    body = {"external_id": uuid.uuid4().hex, "dealer_code": dealer.code, "name": "王伟二", "phone": "+86 139 1111 2222"}
    problem = _assert_problem(dealer.client.post("/v1/customers", json=body), (409,))
    assert customer["id"] in str(problem)


def test_bad_import_rows_are_reported_and_good_rows_kept(dealer: Org) -> None:
    csv = ("external_id,name,phone,email\n"
           "IMP-1,赵敏,13600001111,zm@example.cn\n"
           "IMP-2,钱多,not-a-phone,\n"
           "IMP-3,孙丽,13600003333,not-an-email\n"
           "IMP-4,周强,13600004444,\n")
    response = dealer.client.post("/v1/customers/import", params={"dealer_code": dealer.code}, content=csv.encode(),
                                  headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"], result["failed"]) == (2, 0, 2)
    assert {(e["row"], e["field"]) for e in result["errors"]} == {(2, "phone"), (3, "email")}
