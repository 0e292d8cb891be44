"""Create-or-replace by the dealer's own keys: customers by external id, vehicles by VIN, visits by RO."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.customer.conftest import ClientFactory, new_external_id, new_phone, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events

pytestmark = pytest.mark.asyncio


def customer_url(external_id: str, dealer_code: str = "DLR-0042") -> str:
    return f"/v1/customers/by-external-id/{dealer_code}/{external_id}"


def visit_url(ro_number: str, dealer_code: str = "DLR-0042") -> str:
    return f"/v1/service-visits/by-ro/{dealer_code}/{ro_number}"


def visit_body(customer_id: str, vin: str, *, closed: bool, **overrides: object) -> dict:
    opened = datetime(2026, 11, 2, 1, tzinfo=UTC)
    return {"vin": vin, "customer_id": customer_id, "visit_type": "repair", "opened_at": opened.isoformat(),
            "closed_at": (opened + timedelta(hours=5)).isoformat() if closed else None, "symptom_codes": ["BRK01"],
            "op_codes": ["OP100"], "mileage_km": 12000, "advisor": "SA01", **overrides}


class TestCustomerUpsert:
    async def test_first_put_creates_with_location_and_the_second_replaces(self, dealer: httpx.AsyncClient) -> None:
        external_id, phone = new_external_id(), new_phone()
        made = await dealer.put(customer_url(external_id), json={"name": "张伟", "phone": phone, "city": "上海"})
        assert made.status_code == 201, made.text
        assert made.headers["Location"] == f"/v1/customers/{made.json()['id']}" and made.headers["ETag"] == '"v1"'
        assert made.json()["external_id"] == external_id and made.json()["dealer_code"] == "DLR-0042"
        replaced = await dealer.put(customer_url(external_id), json={"name": "张伟伟", "phone": phone})
        assert replaced.status_code == 200 and "Location" not in replaced.headers
        assert replaced.json()["id"] == made.json()["id"] and replaced.headers["ETag"] == '"v2"'
        assert replaced.json()["name"] == "张伟伟" and replaced.json()["city"] is None  # a replace clears what it omits

    async def test_replace_keeps_consent_values_the_body_omits(self, dealer: httpx.AsyncClient) -> None:
        external_id = new_external_id()
        consent = {"survey": True, "marketing": True, "share_with_manufacturer": True}
        await dealer.put(customer_url(external_id), json={"name": "王芳", "consent": consent})
        replaced = await dealer.put(customer_url(external_id), json={"name": "王芳", "consent": {"marketing": False}})
        assert replaced.json()["consent"] == {"survey": True, "marketing": False, "share_with_manufacturer": True}
        again = await dealer.put(customer_url(external_id), json={"name": "王芳"})
        assert again.json()["consent"] == {"survey": True, "marketing": False, "share_with_manufacturer": True}

    async def test_a_replace_that_changes_nothing_writes_and_publishes_nothing(self, app, dealer: httpx.AsyncClient) -> None:
        external_id = new_external_id()
        made = (await dealer.put(customer_url(external_id), json={"name": "赵六"})).json()
        before = len(await outbox_events(app, "customer.updated"))
        same = await dealer.put(customer_url(external_id), json={"name": "赵六"})
        assert same.status_code == 200 and same.headers["ETag"] == '"v1"'
        assert len(await outbox_events(app, "customer.updated")) == before
        changed = await dealer.put(customer_url(external_id), json={"name": "赵七"})
        assert changed.headers["ETag"] == '"v2"'
        updates = await outbox_events(app, "customer.updated")
        assert [e for e in updates if e["data"]["customer_id"] == made["id"]]

    async def test_if_match_is_optional_but_a_stale_one_is_412(self, dealer: httpx.AsyncClient) -> None:
        external_id = new_external_id()
        assert (await dealer.put(customer_url(external_id), json={"name": "A"}, headers={"If-Match": '"v1"'})).status_code == 412
        await dealer.put(customer_url(external_id), json={"name": "A"})
        assert (await dealer.put(customer_url(external_id), json={"name": "B"}, headers={"If-Match": '"v1"'})).status_code == 200
        stale = await dealer.put(customer_url(external_id), json={"name": "C"}, headers={"If-Match": '"v1"'})
        assert stale.status_code == 412 and stale.headers["content-type"].startswith("application/problem+json")
        assert stale.headers["ETag"] == '"v2"'  # the version to read again

    async def test_the_customer_put_and_the_one_created_by_post_are_the_same_record(self, dealer: httpx.AsyncClient) -> None:
        posted = await create(dealer)
        put = await dealer.put(customer_url(posted["external_id"]), json={"name": "New name", "phone": posted["phone"]})
        assert put.status_code == 200 and put.json()["id"] == posted["id"]

    async def test_another_customers_phone_is_409(self, dealer: httpx.AsyncClient) -> None:
        other = await create(dealer)
        clash = await dealer.put(customer_url(new_external_id()), json={"name": "X", "phone": other["phone"]})
        assert clash.status_code == 409

    async def test_an_erased_customer_is_not_replaced(self, dealer: httpx.AsyncClient) -> None:
        posted = await create(dealer)
        assert (await dealer.post(f"/v1/customers/{posted['id']}/erase")).status_code == 200
        assert (await dealer.put(customer_url(posted["external_id"]), json={"name": "Back"})).status_code == 409

    async def test_a_dealer_outside_the_callers_subtree_is_404_and_nothing_stored(self, client_for: ClientFactory) -> None:
        external_id = new_external_id()
        for dealer_code in ("DLR-0043", "DLR-0100", "NO-SUCH-DEALER"):
            answer = await client_for("DLR-0042").put(customer_url(external_id, dealer_code), json={"name": "X"})
            assert answer.status_code == 404, (dealer_code, answer.text)
        listed = (await client_for("D-NORTH").get("/v1/customers", params={"q": external_id})).json()["items"]
        assert listed == []
        # The parent reaches its dealers' records: it may create there.
        assert (await client_for("D-NORTH").put(customer_url(external_id, "DLR-0043"), json={"name": "X"})).status_code == 201

    @pytest.mark.parametrize("path", ["%00", "a%0Ab", "x" * 101])
    async def test_a_hostile_external_id_is_422(self, dealer: httpx.AsyncClient, path: str) -> None:
        answer = await dealer.put(customer_url(path), json={"name": "X"})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"].endswith("external_id")

    async def test_unknown_body_fields_are_422(self, dealer: httpx.AsyncClient) -> None:
        answer = await dealer.put(customer_url(new_external_id()), json={"name": "X", "dealer_code": "DLR-0042"})
        assert answer.status_code == 422


class TestVehicleUpsert:
    async def test_by_vin_creates_then_replaces_the_dealers_file(self, dealer: httpx.AsyncClient) -> None:
        owner = await create(dealer)
        vin = vin_with_check_digit()
        made = await dealer.put(f"/v1/vehicles/by-vin/DLR-0042/{vin.lower()}",
                                json={"model": "Lumen S", "model_year": 2025, "plate": "沪A1", "owner_customer_id": owner["id"]})
        assert made.status_code == 201, made.text
        assert made.headers["Location"] == f"/v1/vehicles/{vin}" and made.json()["vin"] == vin
        replaced = await dealer.put(f"/v1/vehicles/by-vin/DLR-0042/{vin}", json={"model": "Lumen S+"},
                                    headers={"If-Match": made.headers["ETag"]})
        assert replaced.status_code == 200 and replaced.headers["ETag"] == '"v2"'
        assert replaced.json()["model"] == "Lumen S+" and replaced.json()["plate"] is None
        assert replaced.json()["owner_customer_id"] is None

    async def test_put_by_vin_alone_is_the_callers_own_dealers_file(self, client_for: ClientFactory) -> None:
        vin = vin_with_check_digit()
        made = await client_for("DLR-0042").put(f"/v1/vehicles/{vin}", json={"model": "Lumen"})
        assert made.status_code == 201 and made.json()["dealer_code"] == "DLR-0042"
        # Another dealer's PUT opens that dealer's own file: each dealer keeps its own file of a car.
        theirs = await client_for("DLR-0043").put(f"/v1/vehicles/{vin}", json={"model": "Other"})
        assert theirs.status_code == 201 and theirs.json()["dealer_code"] == "DLR-0043"
        assert (await client_for("DLR-0042").get(f"/v1/vehicles/{vin}")).json()["model"] == "Lumen"
        above = await client_for("D-NORTH").put(f"/v1/vehicles/{vin}", json={"model": "X"})
        assert above.status_code == 422 and above.json()["errors"][0]["field"] == "dealer_code"

    async def test_another_dealers_owner_is_422_and_a_foreign_dealer_404(self, client_for: ClientFactory) -> None:
        other = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        vin = vin_with_check_digit()
        foreign = await client_for("DLR-0042").put(f"/v1/vehicles/by-vin/DLR-0042/{vin}", json={"owner_customer_id": other["id"]})
        assert foreign.status_code == 422 and foreign.json()["errors"] == [
            {"field": "owner_customer_id", "message": "unknown customer"}]
        assert (await client_for("DLR-0042").put(f"/v1/vehicles/by-vin/DLR-0043/{vin}", json={})).status_code == 404
        assert (await client_for("DLR-0042").get(f"/v1/vehicles/{vin}")).status_code == 404

    async def test_a_bad_vin_is_422(self, dealer: httpx.AsyncClient) -> None:
        assert (await dealer.put("/v1/vehicles/by-vin/DLR-0042/NOTAVIN", json={})).status_code == 422


class TestVisitUpsert:
    async def test_creates_then_replaces_a_repair_order(self, app, dealer: httpx.AsyncClient) -> None:
        owner, vin, ro = await create(dealer), vin_with_check_digit(), f"RO-{uuid.uuid4().hex[:8]}"
        made = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=False))
        assert made.status_code == 201, made.text
        assert made.headers["Location"] == f"/v1/service-visits/{made.json()['id']}"
        assert (await dealer.get(f"/v1/vehicles/{vin}")).status_code == 200  # the RO opened the dealer's file of the car
        closed = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=True))
        assert closed.status_code == 200 and closed.json()["closed_at"] is not None
        assert [e for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == made.json()["id"]]

    async def test_replacing_a_closed_visit_publishes_updated_never_a_second_closed(self, app, dealer: httpx.AsyncClient) -> None:
        owner, vin, ro = await create(dealer), vin_with_check_digit(), f"RO-{uuid.uuid4().hex[:8]}"
        made = (await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=True))).json()
        replaced = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=True, amount_minor=99000))
        assert replaced.status_code == 200 and replaced.json()["amount_minor"] == 99000
        same = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=True, amount_minor=99000))
        assert same.headers["ETag"] == replaced.headers["ETag"]
        patched = await dealer.patch(f"/v1/service-visits/{made['id']}", json={"advisor": "SA02"},
                                     headers={"If-Match": replaced.headers["ETag"]})
        assert patched.status_code == 200

        def of_visit(events: list[dict]) -> list[dict]:
            return [e for e in events if e["data"]["visit_id"] == made["id"]]

        assert len(of_visit(await outbox_events(app, "service_visit.closed"))) == 1
        updated = of_visit(await outbox_events(app, "service_visit.updated"))
        assert [e["data"]["amount_minor"] for e in updated] == [99000, 99000]
        assert updated[-1]["data"]["advisor"] == "SA02"

    async def test_a_closed_visit_stays_closed(self, dealer: httpx.AsyncClient) -> None:
        owner, vin, ro = await create(dealer), vin_with_check_digit(), f"RO-{uuid.uuid4().hex[:8]}"
        made = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=True))
        reopened = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=False))
        assert reopened.status_code == 422 and reopened.json()["errors"][0]["field"] == "closed_at"
        patched = await dealer.patch(f"/v1/service-visits/{made.json()['id']}", json={"closed_at": None},
                                     headers={"If-Match": made.headers["ETag"]})
        assert patched.status_code == 422

    async def test_a_stale_if_match_is_412_and_changes_nothing(self, dealer: httpx.AsyncClient) -> None:
        owner, vin, ro = await create(dealer), vin_with_check_digit(), f"RO-{uuid.uuid4().hex[:8]}"
        assert (await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=False),
                                 headers={"If-Match": '"v1"'})).status_code == 412
        made = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=False))
        await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=False, mileage_km=1))
        stale = await dealer.put(visit_url(ro), json=visit_body(owner["id"], vin, closed=False, mileage_km=2),
                                 headers={"If-Match": made.headers["ETag"]})
        assert stale.status_code == 412
        assert (await dealer.get(f"/v1/service-visits/{made.json()['id']}")).json()["mileage_km"] == 1

    async def test_foreign_references_and_dealers(self, client_for: ClientFactory) -> None:
        mine, theirs = await create(client_for("DLR-0042")), await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        vin, ro = vin_with_check_digit(), f"RO-{uuid.uuid4().hex[:8]}"
        foreign = await client_for("DLR-0042").put(visit_url(ro), json=visit_body(theirs["id"], vin, closed=True))
        assert foreign.status_code == 422 and foreign.json()["errors"] == [{"field": "customer_id", "message": "unknown customer"}]
        elsewhere = await client_for("DLR-0042").put(visit_url(ro, "DLR-0043"), json=visit_body(mine["id"], vin, closed=True))
        assert elsewhere.status_code == 404
        assert (await client_for("DLR-0042").put(visit_url("x" * 51), json=visit_body(mine["id"], vin, closed=True))).status_code == 422
