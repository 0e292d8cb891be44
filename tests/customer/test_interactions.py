"""Interactions: every contact with a customer, kept as contact history (API.md "Follow-up desk
and contact centre")."""

import uuid

import httpx
import pytest

from tests.customer.conftest import ClientFactory
from tests.customer.test_api_customers import create, outbox_events

pytestmark = pytest.mark.asyncio


def interaction_body(**overrides: object) -> dict:
    return {"dealer_code": "DLR-0042", "channel": "phone", "direction": "inbound", "reason": "appointment",
            "summary": "Asked for a slot on Friday", "agent": "CR01", "started_at": "2026-06-02T09:15:00+08:00",
            "duration_s": 240, **overrides}


async def log(client: httpx.AsyncClient, **overrides: object) -> dict:
    response = await client.post("/v1/interactions", json=interaction_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def listed(client: httpx.AsyncClient, **params: str) -> list[dict]:
    response = await client.get("/v1/interactions", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestLogging:
    async def test_logged_interaction_is_read_back_listed_and_published(self, dealer, app) -> None:
        customer = await create(dealer)
        created = await log(dealer, customer_id=customer["id"])
        assert created["started_at"].startswith("2026-06-02T01:15:00")  # kept in UTC
        assert {k: created[k] for k in ("channel", "direction", "reason", "agent", "summary", "duration_s")} == {
            "channel": "phone", "direction": "inbound", "reason": "appointment", "agent": "CR01",
            "summary": "Asked for a slot on Friday", "duration_s": 240}
        assert (await dealer.get(f"/v1/interactions/{created['id']}")).json() == created
        assert [i["id"] for i in await listed(dealer, customer_id=customer["id"])] == [created["id"]]
        [event] = [e for e in await outbox_events(app, "interaction.logged") if e["data"]["interaction_id"] == created["id"]]
        assert event["data"]["customer_id"] == customer["id"] and event["data"]["agent"] == "CR01"
        assert "summary" not in event["data"] and "phone" not in event["data"]  # events carry ids, not contact data

    async def test_a_caller_known_only_by_phone_or_a_prospect(self, dealer) -> None:
        unknown = await log(dealer, phone="138 0000 0001", direction="inbound", reason="inquiry")
        assert unknown["phone"] == "+8613800000001" and unknown["customer_id"] is None
        prospect = (await dealer.post("/v1/prospects", json={"name": "Walk-in Wu", "level": "A"})).json()
        lead = await log(dealer, prospect_id=prospect["id"], direction="outbound", reason="follow_up")
        assert [i["id"] for i in await listed(dealer, prospect_id=prospect["id"])] == [lead["id"]]

    async def test_the_dealer_defaults_to_the_callers_own(self, dealer) -> None:
        body = interaction_body(phone="13800000002")
        del body["dealer_code"]
        response = await dealer.post("/v1/interactions", json=body)
        assert response.status_code == 201 and response.json()["dealer_code"] == "DLR-0042"

    @pytest.mark.parametrize(("change", "field"), [
        ({"channel": "fax"}, "channel"), ({"direction": "sideways"}, "direction"), ({"reason": "boredom"}, "reason"),
        ({"duration_s": -1}, "duration_s"), ({"started_at": "2026-06-02T09:15:00"}, "started_at"),
        ({"phone": "12345"}, "phone"), ({"summary": "x" * 2001}, "summary"), ({"colour": "red"}, "colour"),
    ])
    async def test_bad_fields_are_422_naming_the_field(self, dealer, change, field) -> None:
        response = await dealer.post("/v1/interactions", json=interaction_body(**{"phone": "13800000003", **change}))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}

    async def test_exactly_one_of_customer_prospect_or_phone(self, dealer) -> None:
        customer = await create(dealer)
        for who in ({}, {"customer_id": customer["id"], "phone": "13800000004"}):
            response = await dealer.post("/v1/interactions", json=interaction_body(**who))
            assert response.status_code == 422, response.text

    async def test_another_dealers_customer_or_prospect_is_unknown(self, dealer, client_for: ClientFactory) -> None:
        sibling = client_for("DLR-0043")
        theirs = await create(sibling, dealer_code="DLR-0043")
        lead = (await sibling.post("/v1/prospects", json={"name": "Lead", "level": "B"})).json()
        for field, value, kind in (("customer_id", theirs["id"], "customer"), ("customer_id", str(uuid.uuid4()), "customer"),
                                   ("prospect_id", lead["id"], "prospect")):
            response = await dealer.post("/v1/interactions", json=interaction_body(**{field: value}))
            assert response.status_code == 422, response.text
            assert response.json()["errors"] == [{"field": field, "message": f"unknown {kind}"}]
        # A parent naming a dealer's customer under another dealer: unknown as well.
        parent = client_for("D-NORTH")
        mine = await create(dealer)
        response = await parent.post("/v1/interactions", json=interaction_body(dealer_code="DLR-0043", customer_id=mine["id"]))
        assert response.json()["errors"] == [{"field": "customer_id", "message": "unknown customer"}]


class TestScopeAndMasking:
    async def test_a_sibling_dealer_gets_404_and_an_empty_list(self, dealer, client_for: ClientFactory) -> None:
        customer = await create(dealer)
        mine = await log(dealer, customer_id=customer["id"])
        sibling = client_for("DLR-0043")
        assert (await sibling.get(f"/v1/interactions/{mine['id']}")).status_code == 404
        assert await listed(sibling, customer_id=customer["id"]) == []
        assert await listed(sibling, dealer_code="DLR-0042") == []
        assert mine["id"] in {i["id"] for i in await listed(client_for("D-NORTH"), dealer_code="DLR-0042")}

    async def test_phone_masked_without_pii_read(self, dealer, client_for: ClientFactory) -> None:
        mine = await log(dealer, phone="13812345670")
        plain = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        assert (await plain.get(f"/v1/interactions/{mine['id']}")).json()["phone"] == "+86138****5670"

    async def test_above_the_dealer_a_non_sharing_customers_summary_is_withheld(self, dealer, client_for) -> None:
        private = await create(dealer, consent={"survey": True, "share_with_manufacturer": False})
        sharing = await create(dealer)
        parent = client_for("FTMS")
        hidden = await log(dealer, customer_id=private["id"], summary="Mrs Li's husband called")
        shown = await log(dealer, customer_id=sharing["id"], summary="Oil change booked")
        assert (await parent.get(f"/v1/interactions/{hidden['id']}")).json()["summary"] is None
        assert (await parent.get(f"/v1/interactions/{shown['id']}")).json()["summary"] == "Oil change booked"

    async def test_erasing_the_customer_forgets_summary_and_phone(self, dealer) -> None:
        customer = await create(dealer)
        logged = await log(dealer, customer_id=customer["id"], summary="Mr Li, flat 3")
        assert (await dealer.post(f"/v1/customers/{customer['id']}/erase")).status_code == 200
        assert (await dealer.get(f"/v1/interactions/{logged['id']}")).json()["summary"] is None


class TestListing:
    async def test_pages_and_time_bounds(self, dealer) -> None:
        customer = await create(dealer)
        made = [await log(dealer, customer_id=customer["id"], started_at=f"2026-07-0{day}T10:00:00Z") for day in (1, 2, 3)]
        first = (await dealer.get("/v1/interactions", params={"customer_id": customer["id"], "limit": 2})).json()
        assert [i["id"] for i in first["items"]] == [m["id"] for m in made[:2]] and first["next_cursor"]
        rest = (await dealer.get("/v1/interactions", params={"customer_id": customer["id"], "limit": 2,
                                                             "cursor": first["next_cursor"]})).json()
        assert [i["id"] for i in rest["items"]] == [made[2]["id"]] and rest["next_cursor"] is None
        bounded = await listed(dealer, customer_id=customer["id"], **{"from": "2026-07-02T00:00:00Z", "to": "2026-07-03T00:00:00Z"})
        assert [i["id"] for i in bounded] == [made[1]["id"]]

    async def test_erasure_moves_the_interaction_to_the_end_of_the_delta_feed(self, dealer) -> None:
        first, second = await create(dealer), await create(dealer)
        earlier = await log(dealer, customer_id=first["id"])
        later = await log(dealer, customer_id=second["id"])
        await dealer.post(f"/v1/customers/{first['id']}/erase")
        items = await listed(dealer, updated_since=earlier["updated_at"], dealer_code="DLR-0042")
        assert [i["id"] for i in items] == [later["id"], earlier["id"]]
        assert items[-1]["summary"] is None and items[-1]["updated_at"] > earlier["updated_at"]

    async def test_bad_query_values_are_problems(self, dealer) -> None:
        for params in ({"from": "yesterday"}, {"customer_id": "x"}, {"cursor": "nope"}, {"to": "0001-01-01T00:00:00+01:00"},
                       {"updated_since": "0001-01-01T00:00:00+01:00"}):
            response = await dealer.get("/v1/interactions", params=params)
            assert response.status_code in (400, 422), (params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_every_customer_table_with_an_org_path_has_row_level_security_forced(app) -> None:
    """The database's second wall (shared/rls.py) covers interactions like every other record."""
    from sqlalchemy import text

    async with app.state.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("row-level security is PostgreSQL-only")
        rows = (await session.execute(text(
            "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_path'"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname = current_schema()"))).all()
    assert "interactions" in dict(rows)
    assert [name for name, forced in rows if not forced] == []
