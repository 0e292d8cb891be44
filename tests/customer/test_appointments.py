"""Service appointments (issue 14 item 5): booking, the status flow, scope, references, and a
visit that keeps its appointment marking it arrived."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.customer.models import Staff
from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events

pytestmark = pytest.mark.asyncio

SLOT = "2026-06-05T10:00:00+08:00"


async def staff(app, dealer_code: str, *, active: bool = True) -> str:
    """A staff code of the dealer, written straight to the table (the staff API is another module's)."""
    code = f"SA-{uuid.uuid4().hex[:8]}"
    async with app.state.sessions() as session, session.begin():
        session.add(Staff(dealer_code=dealer_code, org_path=f"/FTMS/D-NORTH/{dealer_code}/", code=code, name="Chen Jie",
                          role="service_advisor", active=active, version=1))
    return code


async def car(client: httpx.AsyncClient, customer: dict) -> str:
    vin = vin_with_check_digit()
    response = await client.post("/v1/vehicles", json={"vin": vin, "owner_customer_id": customer["id"]})
    assert response.status_code == 201, response.text
    return vin


def body(customer: dict, **overrides: object) -> dict:
    return {"dealer_code": customer["dealer_code"], "customer_id": customer["id"],
            "requested_at": "2026-06-02T09:15:00+08:00", "slot_at": SLOT, "service_type": "maintenance", **overrides}


async def book(client: httpx.AsyncClient, customer: dict, **overrides: object) -> dict:
    response = await client.post("/v1/appointments", json=body(customer, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def set_status(client: httpx.AsyncClient, appointment: dict, to: str, **headers: str) -> httpx.Response:
    return await client.post(f"/v1/appointments/{appointment['id']}/status", json={"to": to}, headers=headers)


async def changes(app, appointment_id: str) -> list[str]:
    return [e["data"]["status"] for e in await outbox_events(app, "appointment.changed")
            if e["data"]["appointment_id"] == appointment_id]


class TestBooking:
    async def test_booked_read_back_listed_and_published(self, dealer, app) -> None:
        customer = await create(dealer)
        vin, advisor = await car(dealer, customer), await staff(app, "DLR-0042")
        response = await dealer.post("/v1/appointments", json=body(customer, vin=vin, advisor=advisor))
        assert response.status_code == 201, response.text
        made = response.json()
        assert response.headers["Location"] == f"/v1/appointments/{made['id']}" and response.headers["ETag"] == '"v1"'
        assert {k: made[k] for k in ("status", "vin", "advisor", "service_type", "customer_id", "dealer_code")} == {
            "status": "booked", "vin": vin, "advisor": advisor, "service_type": "maintenance",
            "customer_id": customer["id"], "dealer_code": "DLR-0042"}
        assert made["slot_at"].startswith("2026-06-05T02:00:00") and made["requested_at"].startswith("2026-06-02T01:15:00")
        read = await dealer.get(f"/v1/appointments/{made['id']}")
        assert read.json() == made and read.headers["ETag"] == '"v1"'
        listed = (await dealer.get("/v1/appointments", params={"customer_id": customer["id"]})).json()["items"]
        assert [a["id"] for a in listed] == [made["id"]]
        [event] = [e for e in await outbox_events(app, "appointment.changed") if e["data"]["appointment_id"] == made["id"]]
        assert event["data"]["status"] == "booked" and event["data"]["customer_id"] == customer["id"]
        assert event["data"]["advisor"] == advisor and event["data"]["vin"] == vin
        assert event["subject"] == f"appointments/{made['id']}"

    async def test_requested_at_defaults_to_now_and_dealer_to_the_callers(self, dealer) -> None:
        customer = await create(dealer)
        later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        payload = body(customer, slot_at=later)
        del payload["requested_at"], payload["dealer_code"]
        before = datetime.now(UTC)
        response = await dealer.post("/v1/appointments", json=payload)
        assert response.status_code == 201, response.text
        assert datetime.fromisoformat(response.json()["requested_at"]) >= before - timedelta(seconds=1)
        assert response.json()["dealer_code"] == "DLR-0042"

    async def test_slot_before_the_request_is_422(self, dealer) -> None:
        customer = await create(dealer)
        response = await dealer.post("/v1/appointments", json=body(customer, slot_at="2026-06-01T09:00:00+08:00"))
        assert response.status_code == 422 and response.json()["errors"] == [{"field": "slot_at", "message": "before requested_at"}]

    @pytest.mark.parametrize(("change", "field"), [
        ({"service_type": "spa"}, "service_type"), ({"slot_at": "2026-06-05T10:00:00"}, "slot_at"),
        ({"vin": "NOTAVIN"}, "vin"), ({"customer_id": "x"}, "customer_id"), ({"colour": "red"}, "colour"),
        ({"advisor": "x" * 101}, "advisor"), ({"status": "arrived"}, "status"),
    ])
    async def test_bad_fields_are_422_naming_the_field(self, dealer, change, field) -> None:
        customer = await create(dealer)
        response = await dealer.post("/v1/appointments", json=body(customer, **change))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}


class TestReferences:
    async def test_unknown_customer_vehicle_or_advisor_is_422_and_books_nothing(self, dealer, app,
                                                                               client_for: ClientFactory) -> None:
        sibling = client_for("DLR-0043")
        theirs = await create(sibling, dealer_code="DLR-0043")
        their_car, their_advisor = await car(sibling, theirs), await staff(app, "DLR-0043")
        retired = await staff(app, "DLR-0042", active=False)
        mine = await create(dealer)
        cases = [({"customer_id": theirs["id"]}, "customer_id", "customer"),
                 ({"customer_id": str(uuid.uuid4())}, "customer_id", "customer"),
                 ({"vin": their_car}, "vin", "vehicle"), ({"vin": vin_with_check_digit()}, "vin", "vehicle"),
                 ({"advisor": their_advisor}, "advisor", "staff member"), ({"advisor": "NOBODY"}, "advisor", "staff member"),
                 ({"advisor": retired}, "advisor", "staff member")]
        for change, field, kind in cases:
            response = await dealer.post("/v1/appointments", json=body(mine, **change))
            assert response.status_code == 422, (change, response.text)
            assert response.json()["errors"] == [{"field": field, "message": f"unknown {kind}"}]
        assert (await dealer.get("/v1/appointments", params={"customer_id": mine["id"]})).json()["items"] == []

    async def test_a_parent_naming_a_dealers_customer_under_another_dealer(self, dealer, client_for) -> None:
        mine = await create(dealer)
        response = await client_for("D-NORTH").post("/v1/appointments", json=body(mine, dealer_code="DLR-0043"))
        assert response.status_code == 422 and response.json()["errors"] == [{"field": "customer_id", "message": "unknown customer"}]
        assert (await client_for("D-NORTH").post("/v1/appointments", json=body(mine))).status_code == 201


class TestStatusFlow:
    @pytest.mark.parametrize("to", ["arrived", "no_show", "cancelled"])
    async def test_from_booked_then_closed(self, dealer, app, to) -> None:
        appointment = await book(dealer, await create(dealer))
        response = await set_status(dealer, appointment, to)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == to and response.json()["status_changed_at"] and response.headers["ETag"] == '"v2"'
        again = await set_status(dealer, appointment, to)  # a retry: the same answer, nothing new
        assert again.status_code == 200 and again.json() == response.json()
        for other in {"arrived", "no_show", "cancelled"} - {to}:
            refused = await set_status(dealer, appointment, other)
            assert refused.status_code == 409, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await dealer.get(f"/v1/appointments/{appointment['id']}")).json()["status"] == to
        assert await changes(app, appointment["id"]) == ["booked", to]

    async def test_back_to_booked_is_not_a_status_change(self, dealer) -> None:
        appointment = await book(dealer, await create(dealer))
        assert (await set_status(dealer, appointment, "booked")).status_code == 422

    async def test_a_stale_if_match_is_412(self, dealer) -> None:
        appointment = await book(dealer, await create(dealer))
        assert (await set_status(dealer, appointment, "arrived", **{"If-Match": '"v7"'})).status_code == 412
        assert (await set_status(dealer, appointment, "arrived", **{"If-Match": '"v1"'})).status_code == 200
        # A retry of the same change, with the ETag it made stale, is answered as done.
        assert (await set_status(dealer, appointment, "arrived", **{"If-Match": '"v1"'})).status_code == 200
        # Optional here: an empty header is no header.
        other = await book(dealer, await create(dealer))
        assert (await set_status(dealer, other, "cancelled", **{"If-Match": ""})).status_code == 200

    async def test_listed_by_status_and_slot(self, dealer) -> None:
        customer = await create(dealer)
        early = await book(dealer, customer, slot_at="2026-07-01T10:00:00Z", requested_at="2026-06-30T10:00:00Z")
        late = await book(dealer, customer, slot_at="2026-07-03T10:00:00Z", requested_at="2026-06-30T10:00:00Z")
        await set_status(dealer, early, "no_show")
        params = {"customer_id": customer["id"]}
        items = (await dealer.get("/v1/appointments", params={**params, "status": "no_show"})).json()["items"]
        assert [a["id"] for a in items] == [early["id"]]
        items = (await dealer.get("/v1/appointments", params={
            **params, "slot_from": "2026-07-02T00:00:00Z", "slot_to": "2026-07-04T00:00:00Z"})).json()["items"]
        assert [a["id"] for a in items] == [late["id"]]
        feed = (await dealer.get("/v1/appointments", params={**params, "updated_since": late["updated_at"]})).json()["items"]
        assert [a["id"] for a in feed] == [late["id"], early["id"]]  # the status change moved it to the end

    async def test_bad_query_values_are_problems(self, dealer) -> None:
        for params in ({"status": "gone"}, {"slot_from": "tomorrow"}, {"customer_id": "x"}, {"cursor": "nope"},
                       {"slot_to": "0001-01-01T00:00:00+01:00"}, {"colour": "red"}):
            response = await dealer.get("/v1/appointments", params=params)
            assert response.status_code in (400, 422), (params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


class TestMoving:
    async def test_a_booked_appointment_moves_with_if_match(self, dealer, app) -> None:
        appointment = await book(dealer, await create(dealer))
        url = f"/v1/appointments/{appointment['id']}"
        assert (await dealer.patch(url, json={"slot_at": "2026-06-06T10:00:00+08:00"})).status_code == 428
        moved = await dealer.patch(url, json={"slot_at": "2026-06-06T10:00:00+08:00"}, headers={"If-Match": '"v1"'})
        assert moved.status_code == 200 and moved.json()["slot_at"].startswith("2026-06-06T02:00:00")
        assert moved.headers["ETag"] == '"v2"' and moved.json()["status"] == "booked"
        stale = await dealer.patch(url, json={"service_type": "repair"}, headers={"If-Match": '"v1"'})
        assert stale.status_code == 412
        too_early = await dealer.patch(url, json={"slot_at": "2026-06-01T00:00:00+08:00"}, headers={"If-Match": '"v2"'})
        assert too_early.status_code == 422
        nobody = await dealer.patch(url, json={"advisor": "NOBODY"}, headers={"If-Match": '"v2"'})
        assert nobody.json()["errors"] == [{"field": "advisor", "message": "unknown staff member"}]
        assert await changes(app, appointment["id"]) == ["booked", "booked"]
        await set_status(dealer, appointment, "cancelled")
        closed = await dealer.patch(url, json={"service_type": "repair"}, headers={"If-Match": '"v3"'})
        assert closed.status_code == 409


class TestScope:
    async def test_a_sibling_gets_404_on_read_status_and_move_and_an_empty_list(self, dealer, app,
                                                                               client_for: ClientFactory) -> None:
        customer = await create(dealer)
        appointment = await book(dealer, customer)
        sibling = client_for("DLR-0043")
        assert (await sibling.get(f"/v1/appointments/{appointment['id']}")).status_code == 404
        assert (await set_status(sibling, appointment, "cancelled")).status_code == 404
        moved = await sibling.patch(f"/v1/appointments/{appointment['id']}", json={"service_type": "repair"},
                                    headers={"If-Match": '"v1"'})
        assert moved.status_code == 404
        assert (await sibling.get("/v1/appointments", params={"dealer_code": "DLR-0042"})).json()["items"] == []
        assert (await sibling.get("/v1/appointments", params={"customer_id": customer["id"]})).json()["items"] == []
        assert (await dealer.get(f"/v1/appointments/{appointment['id']}")).json()["status"] == "booked"
        assert await changes(app, appointment["id"]) == ["booked"]

    async def test_the_distributor_sees_and_closes_its_dealers_appointments(self, dealer, client_for) -> None:
        appointment = await book(dealer, await create(dealer))
        parent = client_for("D-NORTH")
        assert (await parent.get(f"/v1/appointments/{appointment['id']}")).status_code == 200
        listed = (await parent.get("/v1/appointments", params={"dealer_code": "DLR-0042", "limit": 500})).json()["items"]
        assert appointment["id"] in {a["id"] for a in listed}
        assert (await set_status(parent, appointment, "arrived")).status_code == 200
        assert (await client_for("D-SOUTH").get(f"/v1/appointments/{appointment['id']}")).status_code == 404

    async def test_reading_needs_the_scope_and_writing_the_write_scope(self, dealer, client_for) -> None:
        appointment = await book(dealer, await create(dealer))
        reader = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        assert (await reader.get(f"/v1/appointments/{appointment['id']}")).status_code == 200
        assert (await set_status(reader, appointment, "arrived")).status_code == 403
        assert (await client_for("DLR-0042", scopes=frozenset({"kpi:read"})).get("/v1/appointments")).status_code == 403


def visit_body(customer: dict, vin: str, **overrides: object) -> dict:
    return {"ro_number": f"RO-{uuid.uuid4().hex[:8]}", "vin": vin, "customer_id": customer["id"],
            "dealer_code": customer["dealer_code"], "visit_type": "maintenance", "opened_at": "2026-06-05T10:05:00+08:00",
            **overrides}


class TestVisitLink:
    async def test_a_visit_keeping_its_appointment_marks_it_arrived(self, dealer, app) -> None:
        customer = await create(dealer)
        vin = await car(dealer, customer)
        appointment = await book(dealer, customer, vin=vin)
        response = await dealer.post("/v1/service-visits", json=visit_body(
            customer, vin, appointment_id=appointment["id"], closed_at="2026-06-05T12:00:00+08:00"))
        assert response.status_code == 201, response.text
        visit = response.json()
        assert visit["appointment_id"] == appointment["id"]
        assert (await dealer.get(f"/v1/service-visits/{visit['id']}")).json()["appointment_id"] == appointment["id"]
        arrived = (await dealer.get(f"/v1/appointments/{appointment['id']}")).json()
        assert arrived["status"] == "arrived" and arrived["version"] == 2
        assert await changes(app, appointment["id"]) == ["booked", "arrived"]
        [closed] = [e for e in await outbox_events(app, "service_visit.closed") if e["data"]["visit_id"] == visit["id"]]
        assert closed["data"]["appointment_id"] == appointment["id"]

    async def test_the_upsert_and_the_patch_link_too_and_a_closed_appointment_stays(self, dealer, app) -> None:
        customer = await create(dealer)
        vin = await car(dealer, customer)
        first, second = await book(dealer, customer), await book(dealer, customer)
        ro = f"RO-{uuid.uuid4().hex[:8]}"
        upsert = visit_body(customer, vin, appointment_id=first["id"])
        del upsert["ro_number"], upsert["dealer_code"]
        created = await dealer.put(f"/v1/service-visits/by-ro/DLR-0042/{ro}", json=upsert)
        assert created.status_code == 201 and created.json()["appointment_id"] == first["id"]
        assert (await dealer.get(f"/v1/appointments/{first['id']}")).json()["status"] == "arrived"
        await set_status(dealer, second, "cancelled")
        patched = await dealer.patch(f"/v1/service-visits/{created.json()['id']}", json={"appointment_id": second["id"]},
                                     headers={"If-Match": created.headers["ETag"]})
        assert patched.status_code == 200 and patched.json()["appointment_id"] == second["id"]
        assert (await dealer.get(f"/v1/appointments/{second['id']}")).json()["status"] == "cancelled"
        assert await changes(app, second["id"]) == ["booked", "cancelled"]

    async def test_another_dealers_or_customers_appointment_is_unknown(self, dealer, client_for, app) -> None:
        sibling = client_for("DLR-0043")
        theirs = await book(sibling, await create(sibling, dealer_code="DLR-0043"))
        customer, other = await create(dealer), await create(dealer)
        vin = await car(dealer, customer)
        someone_elses = await book(dealer, other)
        for appointment_id in (theirs["id"], someone_elses["id"], str(uuid.uuid4())):
            response = await dealer.post("/v1/service-visits", json=visit_body(customer, vin, appointment_id=appointment_id))
            assert response.status_code == 422, response.text
            assert response.json()["errors"] == [{"field": "appointment_id", "message": "unknown appointment"}]
        assert (await dealer.get("/v1/service-visits", params={"customer_id": customer["id"]})).json()["items"] == []
        assert (await dealer.get(f"/v1/appointments/{someone_elses['id']}")).json()["status"] == "booked"

    async def test_the_visits_import_links_and_refuses_a_row_with_an_unknown_appointment(self, dealer) -> None:
        customer = await create(dealer)
        vin = await car(dealer, customer)
        appointment = await book(dealer, customer)
        csv = ("ro_number,vin,customer_id,visit_type,appointment_id\n"
               f"RO-{uuid.uuid4().hex[:8]},{vin},{customer['id']},maintenance,{appointment['id']}\n"
               f"RO-{uuid.uuid4().hex[:8]},{vin},{customer['id']},maintenance,{uuid.uuid4()}\n")
        response = await dealer.post("/v1/service-visits/import", params={"dealer_code": "DLR-0042"}, content=csv,
                                     headers={"content-type": "text/csv"})
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["created"] == 1 and result["errors"] == [
            {"row": 2, "field": "appointment_id", "message": "unknown appointment"}]
        assert (await dealer.get(f"/v1/appointments/{appointment['id']}")).json()["status"] == "arrived"
