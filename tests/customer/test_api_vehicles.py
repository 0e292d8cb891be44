"""Vehicles, deliveries and service visits over HTTP."""

import httpx
import pytest

from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events

pytestmark = pytest.mark.asyncio


def bad_check_digit(vin: str) -> str:
    wrong = "1" if vin[8] != "1" else "2"
    return vin[:8] + wrong + vin[9:]


class TestVehicles:
    async def test_vehicle_is_created_and_read_by_vin(self, dealer: httpx.AsyncClient) -> None:
        owner = await create(dealer)
        vin = vin_with_check_digit()
        response = await dealer.post("/v1/vehicles", json={"vin": vin.lower(), "model": "Corolla", "model_year": 2025,
                                                           "plate": "津A12345", "owner_customer_id": owner["id"]})
        assert response.status_code == 201, response.text
        read = await dealer.get(f"/v1/vehicles/{vin}")
        assert read.status_code == 200 and read.headers["ETag"] == '"v1"'
        assert read.json()["owner_customer_id"] == owner["id"] and read.json()["dealer_code"] == "DLR-0042"
        for param in ("owner_customer_id", "customer_id"):
            listed = (await dealer.get("/v1/vehicles", params={param: owner["id"]})).json()["items"]
            assert [item["vin"] for item in listed] == [vin]

    @pytest.mark.parametrize("change", [
        {"vin": "LFV2A21K9C3012345X"}, {"vin": "TOOSHORT"}, {"model_year": "new"}, {"colour": "red"}, {"vin": None},
    ])
    async def test_bad_vehicle_is_422_and_nothing_stored(self, dealer: httpx.AsyncClient, change: dict) -> None:
        vin = vin_with_check_digit()
        body = {"vin": vin, "model": "Camry", "dealer_code": "DLR-0042", **change}
        assert (await dealer.post("/v1/vehicles", json=body)).status_code == 422
        assert (await dealer.get(f"/v1/vehicles/{vin}")).status_code == 404

    async def test_wrong_check_digit_is_422(self, dealer: httpx.AsyncClient) -> None:
        vin = bad_check_digit(vin_with_check_digit())
        response = await dealer.post("/v1/vehicles", json={"vin": vin, "dealer_code": "DLR-0042"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "vin"

    async def test_same_vin_twice_at_one_dealer_is_409(self, dealer: httpx.AsyncClient) -> None:
        vin = vin_with_check_digit()
        first = await dealer.post("/v1/vehicles", json={"vin": vin, "dealer_code": "DLR-0042"})
        again = await dealer.post("/v1/vehicles", json={"vin": vin, "dealer_code": "DLR-0042"})
        assert again.status_code == 409 and again.json()["existing_id"] == first.json()["id"]

    async def test_dealer_cannot_read_other_dealers_vehicle(self, client_for: ClientFactory) -> None:
        vin = vin_with_check_digit()
        assert (await client_for("DLR-0043").post("/v1/vehicles", json={"vin": vin, "dealer_code": "DLR-0043"})).status_code == 201
        assert (await client_for("DLR-0042").get(f"/v1/vehicles/{vin}")).status_code == 404
        assert (await client_for("D-NORTH").get(f"/v1/vehicles/{vin}")).status_code == 200

    async def test_owner_of_another_dealer_is_422_unknown_customer(self, client_for: ClientFactory) -> None:
        other = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        response = await client_for("DLR-0042").post("/v1/vehicles", json={"vin": vin_with_check_digit(), "owner_customer_id": other["id"]})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "owner_customer_id", "message": "unknown customer"}]


class TestDeliveries:
    async def test_delivery_records_vehicle_delivered_event(self, dealer: httpx.AsyncClient, app) -> None:
        customer = await create(dealer)
        vin = vin_with_check_digit()
        response = await dealer.post("/v1/deliveries", json={
            "vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
            "delivered_at": "2026-05-01T10:00:00+08:00", "sales_consultant": "SC01"})
        assert response.status_code == 201, response.text
        vehicle = (await dealer.get(f"/v1/vehicles/{vin}")).json()
        assert vehicle["owner_customer_id"] == customer["id"]
        [event] = [e for e in await outbox_events(app, "vehicle.delivered") if e["data"]["vin"] == vin]
        assert event["data"]["dealer_code"] == "DLR-0042" and event["data"]["org_path"] == "/FTMS/D-NORTH/DLR-0042/"
        assert event["data"]["delivered_at"].startswith("2026-05-01T02:00:00")

    @pytest.mark.parametrize("change", [
        {"delivered_at": "2026-05-01T10:00:00"}, {"delivered_at": "soon"}, {"vin": "ABC"}, {"customer_id": "42"}, {"extra": 1},
    ])
    async def test_bad_delivery_is_422_and_nothing_stored(self, dealer: httpx.AsyncClient, app, change: dict) -> None:
        customer = await create(dealer)
        vin = vin_with_check_digit()
        body = {"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042", "delivered_at": "2026-05-01T10:00:00Z", **change}
        assert (await dealer.post("/v1/deliveries", json=body)).status_code == 422
        assert (await dealer.get(f"/v1/vehicles/{vin}")).status_code == 404

    async def test_delivery_for_another_dealer_is_422(self, dealer: httpx.AsyncClient) -> None:
        customer = await create(dealer)
        response = await dealer.post("/v1/deliveries", json={"vin": vin_with_check_digit(), "customer_id": customer["id"],
                                                             "dealer_code": "DLR-0043", "delivered_at": "2026-05-01T10:00:00Z"})
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "dealer_code", "message": "unknown dealer"}]


def visit_body(customer_id: str, **overrides: object) -> dict:
    return {"ro_number": f"RO-{customer_id[:8]}-{overrides.pop('n', 1)}", "vin": vin_with_check_digit(), "customer_id": customer_id,
            "dealer_code": "DLR-0042", "visit_type": "repair", "opened_at": "2026-05-02T09:00:00Z",
            "symptom_codes": ["NVH-01"], "op_codes": ["OP-7"], "mileage_km": 12000, "amount_minor": 45000, "advisor": "SA01",
            **overrides}


class TestServiceVisits:
    async def test_closing_a_visit_by_patch_publishes_once(self, dealer: httpx.AsyncClient, app) -> None:
        customer = await create(dealer)
        created = await dealer.post("/v1/service-visits", json=visit_body(customer["id"]))
        assert created.status_code == 201, created.text
        visit = created.json()
        url = f"/v1/service-visits/{visit['id']}"
        closed = await dealer.patch(url, json={"closed_at": "2026-05-02T17:00:00Z"}, headers={"If-Match": '"v1"'})
        assert closed.status_code == 200 and closed.headers["ETag"] == '"v2"'
        await dealer.patch(url, json={"advisor": "SA02"}, headers={"If-Match": '"v2"'})
        events = [e for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == visit["id"]]
        assert len(events) == 1
        assert events[0]["data"]["ro_number"] == visit["ro_number"] and events[0]["data"]["symptom_codes"] == ["NVH-01"]
        listed = (await dealer.get("/v1/service-visits", params={"customer_id": customer["id"]})).json()["items"]
        assert [item["id"] for item in listed] == [visit["id"]]

    async def test_visit_created_closed_publishes_at_once(self, dealer: httpx.AsyncClient, app) -> None:
        customer = await create(dealer)
        visit = (await dealer.post("/v1/service-visits", json=visit_body(customer["id"], closed_at="2026-05-02T12:00:00Z"))).json()
        assert [e for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == visit["id"]]

    @pytest.mark.parametrize("change", [
        {"visit_type": "oil"}, {"amount_minor": -5}, {"amount_minor": 12.5}, {"symptom_codes": "NVH"},
        {"closed_at": "2026-05-01T00:00:00Z"}, {"vin": "LFV2A21KIC3012340"}, {"technician_mood": "good"},
    ])
    async def test_bad_visit_is_rejected_and_nothing_stored(self, dealer: httpx.AsyncClient, change: dict) -> None:
        customer = await create(dealer)
        response = await dealer.post("/v1/service-visits", json=visit_body(customer["id"], **change))
        assert response.status_code == 422, response.text
        listed = (await dealer.get("/v1/service-visits", params={"customer_id": customer["id"]})).json()["items"]
        assert listed == []

    async def test_same_ro_number_twice_is_409(self, dealer: httpx.AsyncClient) -> None:
        customer = await create(dealer)
        first = (await dealer.post("/v1/service-visits", json=visit_body(customer["id"]))).json()
        again = await dealer.post("/v1/service-visits", json=visit_body(customer["id"]))
        assert again.status_code == 409 and again.json()["existing_id"] == first["id"]

    async def test_dealer_cannot_touch_other_dealers_visit(self, client_for: ClientFactory) -> None:
        other_dealer = client_for("DLR-0043")
        customer = await create(other_dealer, dealer_code="DLR-0043")
        visit = (await other_dealer.post("/v1/service-visits", json=visit_body(customer["id"], dealer_code="DLR-0043"))).json()
        dealer = client_for("DLR-0042")
        assert (await dealer.get(f"/v1/service-visits/{visit['id']}")).status_code == 404
        patched = await dealer.patch(f"/v1/service-visits/{visit['id']}", json={"advisor": "SA02"}, headers={"If-Match": '"v1"'})
        assert patched.status_code == 404

    async def test_customer_of_another_dealer_cannot_be_named(self, client_for: ClientFactory) -> None:
        other = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        response = await client_for("DLR-0042").post("/v1/service-visits", json=visit_body(other["id"]))
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "customer_id", "message": "unknown customer"}]


class TestVisitUpdatesAndReplays:
    @pytest.mark.parametrize("body", [{"visit_type": None}, {"visit_type": "car-wash"}, {"amount_minor": "lots"},
                                      {"ro_number": "RO-NEW"}, {"closed_at": "2026-05-01T00:00:00Z"}])
    async def test_bad_visit_update_is_422_and_nothing_changes(self, dealer: httpx.AsyncClient, body: dict) -> None:
        customer = await create(dealer)
        visit = (await dealer.post("/v1/service-visits", json=visit_body(customer["id"]))).json()
        url = f"/v1/service-visits/{visit['id']}"
        assert (await dealer.patch(url, json=body, headers={"If-Match": '"v1"'})).status_code == 422
        assert (await dealer.get(url)).json() == visit

    async def test_stale_if_match_on_visit_is_412(self, dealer: httpx.AsyncClient) -> None:
        customer = await create(dealer)
        visit = (await dealer.post("/v1/service-visits", json=visit_body(customer["id"]))).json()
        response = await dealer.patch(f"/v1/service-visits/{visit['id']}", json={"advisor": "SA02"}, headers={"If-Match": '"v7"'})
        assert response.status_code == 412

    async def test_replayed_delivery_is_stored_and_published_once(self, dealer: httpx.AsyncClient, app) -> None:
        customer = await create(dealer)
        vin = vin_with_check_digit()
        body = {"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042", "delivered_at": "2026-05-01T10:00:00Z"}
        headers = {"Idempotency-Key": f"delivery-{vin}"}
        first = await dealer.post("/v1/deliveries", json=body, headers=headers)
        again = await dealer.post("/v1/deliveries", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert len([e for e in await outbox_events(app, "vehicle.delivered") if e["data"]["vin"] == vin]) == 1
