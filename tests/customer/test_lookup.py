"""Screen pop: `GET /v1/lookup?phone=` finds the caller by any phone format, scoped and masked
like every read (API.md "Follow-up desk and contact centre")."""

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create
from tests.customer.test_api_vehicles import visit_body
from tests.customer.test_complaint_cases import moved, opened
from tests.customer.test_followups import deliver

pytestmark = pytest.mark.asyncio


def mobile() -> tuple[str, str, str]:
    """One mainland mobile in the three formats a DMS or a phone system sends."""
    digits = f"138{random.randrange(10**8):08d}"
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86{digits}", digits


async def pop(client: httpx.AsyncClient, phone: str) -> dict:
    response = await client.get("/v1/lookup", params={"phone": phone})
    assert response.status_code == 200, response.text
    return response.json()


class TestFinding:
    async def test_every_phone_format_finds_the_customer(self, dealer) -> None:
        spaced, e164, bare = mobile()
        customer = await create(dealer, phone=bare)
        for phone in (spaced, e164, bare, " " + e164[1:]):  # the last: `+` sent unencoded, read as a space
            found = await pop(dealer, phone)
            assert [c["id"] for c in found["customers"]] == [customer["id"]], phone
        assert found["customers"][0]["phone"] == e164 and found["prospects"] == []

    async def test_a_leading_space_is_an_unencoded_plus_for_any_country(self, dealer) -> None:
        uk = f"+447400{random.randrange(10**6):06d}"  # a UK mobile: no CN default region to fall back on
        customer = await create(dealer, phone=uk)
        assert [c["id"] for c in (await pop(dealer, " " + uk[1:]))["customers"]] == [customer["id"]]

    async def test_open_follow_ups_and_the_last_visit_come_with_the_customer(self, dealer, app, client_for) -> None:
        _, e164, _ = mobile()
        customer = await create(dealer, phone=e164)
        vin = vin_with_check_digit()
        await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
                                                  "delivered_at": "2026-05-01T10:00:00Z"})
        await deliver(app, client_for, "vehicle.delivered", "vin", vin, times=1)
        older = await dealer.post("/v1/service-visits", json=visit_body(customer["id"], n=1, opened_at="2026-05-02T09:00:00Z"))
        newer = await dealer.post("/v1/service-visits", json=visit_body(customer["id"], n=2, opened_at="2026-08-02T09:00:00Z"))
        assert older.status_code == newer.status_code == 201
        [found] = (await pop(dealer, e164))["customers"]
        assert [(t["kind"], t["status"]) for t in found["open_followups"]] == [("new_car", "open")]
        assert found["last_visit"]["id"] == newer.json()["id"]

    async def test_prospects_are_found_with_their_open_calls(self, dealer, app, client_for) -> None:
        spaced, e164, _ = mobile()
        lead = (await dealer.post("/v1/prospects", json={"name": "Walk-in Wu", "phone": e164, "level": "H"})).json()
        await deliver(app, client_for, "prospect.created", "prospect_id", lead["id"], times=1)
        found = await pop(dealer, spaced)
        assert found["customers"] == [] and [p["id"] for p in found["prospects"]] == [lead["id"]]
        assert [t["kind"] for t in found["prospects"][0]["open_followups"]] == ["prospect"]

    async def test_an_unknown_phone_finds_nothing_and_a_bad_one_is_a_problem(self, dealer) -> None:
        assert await pop(dealer, mobile()[1]) == {"customers": [], "prospects": []}
        for phone in ("12345", "", "not a phone"):
            response = await dealer.get("/v1/lookup", params={"phone": phone})
            assert response.status_code in (400, 422), response.text
            assert response.headers["content-type"].startswith("application/problem+json")
        assert (await dealer.get("/v1/lookup")).status_code == 422


class TestScopeAndMasking:
    async def test_masked_without_pii_read(self, dealer, client_for: ClientFactory) -> None:
        _, e164, bare = mobile()
        await create(dealer, phone=bare)
        plain = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        [found] = (await pop(plain, e164))["customers"]
        assert found["phone"] == e164[:-8] + "****" + e164[-4:] and found["email"].startswith("l***@")

    async def test_a_sibling_dealer_finds_nothing(self, dealer, client_for: ClientFactory) -> None:
        _, e164, _ = mobile()
        await create(dealer, phone=e164)
        await dealer.post("/v1/prospects", json={"name": "Lead", "phone": e164, "level": "B"})
        assert await pop(client_for("DLR-0043"), e164) == {"customers": [], "prospects": []}
        assert await pop(client_for("D-SOUTH"), e164) == {"customers": [], "prospects": []}

    async def test_above_the_dealer_only_customers_who_share_and_never_prospects(self, dealer, client_for) -> None:
        _, shared_phone, _ = mobile()
        _, private_phone, _ = mobile()
        sharing = await create(dealer, phone=shared_phone)
        await create(dealer, phone=private_phone, consent={"survey": True, "share_with_manufacturer": False})
        await dealer.post("/v1/prospects", json={"name": "Lead", "phone": shared_phone, "level": "B"})
        parent = client_for("D-NORTH")
        found = await pop(parent, shared_phone)
        assert [c["id"] for c in found["customers"]] == [sharing["id"]] and found["prospects"] == []
        assert await pop(parent, private_phone) == {"customers": [], "prospects": []}

    async def test_the_same_phone_at_two_dealers_is_two_customers_to_their_parent(self, dealer, client_for) -> None:
        _, e164, _ = mobile()
        mine = await create(dealer, phone=e164)
        theirs = await create(client_for("DLR-0043"), phone=e164, dealer_code="DLR-0043")
        assert [c["id"] for c in (await pop(dealer, e164))["customers"]] == [mine["id"]]
        found = await pop(client_for("D-NORTH"), e164)
        assert {c["id"] for c in found["customers"]} == {mine["id"], theirs["id"]}


class TestOpenComplaints:
    """The customer's open cases, from the complaint service's events (tests/customer/test_complaint_cases.py)."""

    async def test_open_cases_are_listed_and_resolved_or_closed_ones_are_not(self, dealer, client_for) -> None:
        _, e164, _ = mobile()
        customer = await create(dealer, phone=e164)
        start = datetime.now(UTC) - timedelta(hours=2)
        older = await opened(client_for, customer["id"], at=start, opened_at=start, priority="P2", category="price_billing")
        newer = await opened(client_for, customer["id"], opened_at=start + timedelta(minutes=5))
        resolved = await opened(client_for, customer["id"])
        closed = await opened(client_for, customer["id"])
        acknowledged = await opened(client_for, customer["id"], at=start, opened_at=start + timedelta(minutes=1))
        await moved(client_for, resolved, "in_progress", "resolved")
        await moved(client_for, closed, "resolved", "closed")
        await moved(client_for, acknowledged, "new", "acknowledged")
        [found] = (await pop(dealer, e164))["customers"]
        assert [c["id"] for c in found["open_complaints"]] == [
            older["complaint_id"], acknowledged["complaint_id"], newer["complaint_id"]]  # oldest first
        first = found["open_complaints"][0]
        assert first == {"id": older["complaint_id"], "number": older["number"], "category": "price_billing",
                         "priority": "P2", "status": "new", "opened_at": first["opened_at"],
                         "resolution_due": first["resolution_due"]}
        assert datetime.fromisoformat(first["opened_at"]) == start
        assert datetime.fromisoformat(first["resolution_due"]) == datetime.fromisoformat(older["resolution_due"])
        assert found["open_complaints"][1]["status"] == "acknowledged"

    async def test_a_sibling_dealers_case_never_appears(self, dealer, client_for) -> None:
        _, e164, _ = mobile()
        customer = await create(dealer, phone=e164)
        mine = await opened(client_for, customer["id"])
        # A case of DLR-0043 naming our customer's id (as none should): still theirs, not shown to us.
        stray = await opened(client_for, customer["id"], dealer="DLR-0043")
        [found] = (await pop(dealer, e164))["customers"]
        assert [c["id"] for c in found["open_complaints"]] == [mine["complaint_id"]]
        theirs = await create(client_for("DLR-0043"), phone=e164, dealer_code="DLR-0043")
        their_case = await opened(client_for, theirs["id"], dealer="DLR-0043")
        [found] = (await pop(client_for("DLR-0043"), e164))["customers"]
        assert [c["id"] for c in found["open_complaints"]] == [their_case["complaint_id"]]
        # The distributor above both sees every case of its subtree, each with its own customer.
        parent = {c["id"]: {k["id"] for k in c["open_complaints"]} for c in (await pop(client_for("D-NORTH"), e164))["customers"]}
        assert parent == {customer["id"]: {mine["complaint_id"], stray["complaint_id"]},
                          theirs["id"]: {their_case["complaint_id"]}}
        assert (await pop(client_for("D-SOUTH"), e164))["customers"] == []

    async def test_a_customer_without_cases_has_none_and_the_masked_answer_lists_them_too(self, dealer, client_for) -> None:
        _, e164, _ = mobile()
        customer = await create(dealer, phone=e164)
        assert (await pop(dealer, e164))["customers"][0]["open_complaints"] == []
        case = await opened(client_for, customer["id"])
        plain = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        [found] = (await pop(plain, e164))["customers"]
        assert [c["id"] for c in found["open_complaints"]] == [case["complaint_id"]]
