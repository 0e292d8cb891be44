"""Customers over HTTP: create, read, update, list, erase, scope and bad input."""

import asyncio
import json
import uuid

import httpx
import pytest

from shared.auth import INTERNAL_HEADER
from tests.customer.conftest import ClientFactory, customer_body, new_phone

pytestmark = pytest.mark.asyncio


async def create(client: httpx.AsyncClient, **overrides: object) -> dict:
    response = await client.post("/v1/customers", json=customer_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


class TestCreateAndRead:
    async def test_created_customer_is_read_back_with_etag(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer, phone="138 0013 8000".replace("8000", str(uuid.uuid4().int % 10000).zfill(4)))
        response = await dealer.get(f"/v1/customers/{created['id']}")
        assert response.status_code == 200
        assert response.headers["ETag"] == '"v1"'
        body = response.json()
        assert body["phone"].startswith("+86138") and len(body["phone"]) == 14
        assert body["consent"] == {"survey": True, "marketing": False, "share_with_manufacturer": True}
        assert body["org_path"] == "/FTMS/D-NORTH/DLR-0042/"

    async def test_dealer_key_may_omit_its_own_dealer_code(self, dealer: httpx.AsyncClient) -> None:
        body = customer_body()
        del body["dealer_code"]
        response = await dealer.post("/v1/customers", json=body)
        assert response.status_code == 201
        assert response.json()["dealer_code"] == "DLR-0042"

    async def test_duplicate_phone_at_same_dealer_is_409_naming_existing_id(self, dealer: httpx.AsyncClient) -> None:
        phone = new_phone()
        first = await create(dealer, phone=phone)
        response = await dealer.post("/v1/customers", json=customer_body(phone=phone))
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["existing_id"] == first["id"]

    async def test_same_phone_at_another_dealer_is_allowed(self, client_for: ClientFactory) -> None:
        phone = new_phone()
        await create(client_for("DLR-0042"), phone=phone)
        await create(client_for("DLR-0043"), phone=phone, dealer_code="DLR-0043")

    async def test_creation_records_customer_created_event(self, dealer: httpx.AsyncClient, app) -> None:
        created = await create(dealer)
        assert created["id"] in [e["data"]["customer_id"] for e in await outbox_events(app, "customer.created")]


async def outbox_events(app, type_: str) -> list[dict]:
    from sqlalchemy import select

    from services.customer.models import TABLES

    async with app.state.sessions() as session:
        rows = await session.execute(select(TABLES.outbox.c.payload).where(TABLES.outbox.c.type == type_))
        return [row[0] for row in rows]


class TestBadInput:
    @pytest.mark.parametrize(("change", "field"), [
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"name": ""}, "name"),
        ({"shoe_size": 44}, "shoe_size"),
        ({"consent": {"survey": "perhaps"}}, "consent.survey"),
        ({"name": ["a list"]}, "name"),
    ])
    async def test_bad_customer_is_422_and_nothing_stored(self, dealer: httpx.AsyncClient, change: dict, field: str) -> None:
        body = customer_body(**change)
        response = await dealer.post("/v1/customers", json=body)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [error["field"] for error in response.json()["errors"]]
        listed = await dealer.get("/v1/customers", params={"q": body["external_id"]})
        assert listed.json()["items"] == []

    async def test_malformed_json_is_422_problem(self, dealer: httpx.AsyncClient) -> None:
        response = await dealer.post("/v1/customers", content=b'{"name": "x",', headers={"content-type": "application/json"})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_unknown_dealer_is_422(self, dealer: httpx.AsyncClient) -> None:
        response = await dealer.post("/v1/customers", json=customer_body(dealer_code="DLR-9999"))
        assert response.status_code == 422
        assert response.json()["errors"] == [{"field": "dealer_code", "message": "unknown dealer"}]

    async def test_distributor_must_name_a_dealer_not_itself(self, client_for: ClientFactory) -> None:
        response = await client_for("D-NORTH").post("/v1/customers", json=customer_body(dealer_code="D-NORTH"))
        assert response.status_code == 422


class TestAuthorisation:
    async def test_no_internal_token_is_401(self, client_for: ClientFactory) -> None:
        anonymous = client_for(None)
        assert (await anonymous.get("/v1/customers")).status_code == 401
        assert (await anonymous.post("/v1/customers", json=customer_body())).status_code == 401

    async def test_missing_scope_is_403(self, client_for: ClientFactory) -> None:
        reader = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        assert (await reader.post("/v1/customers", json=customer_body())).status_code == 403

    async def test_dealer_cannot_write_for_another_dealer(self, dealer: httpx.AsyncClient) -> None:
        response = await dealer.post("/v1/customers", json=customer_body(dealer_code="DLR-0043"))
        assert response.status_code == 422  # API.md: a body field naming an org out of reach

    async def test_dealer_cannot_read_update_or_erase_other_dealers_customer(self, client_for: ClientFactory) -> None:
        other = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        dealer = client_for("DLR-0042")
        assert (await dealer.get(f"/v1/customers/{other['id']}")).status_code == 404
        patched = await dealer.patch(f"/v1/customers/{other['id']}", json={"city": "X"}, headers={"If-Match": '"v1"'})
        assert patched.status_code == 404
        assert (await dealer.post(f"/v1/customers/{other['id']}/erase")).status_code == 404
        listed = await dealer.get("/v1/customers", params={"q": other["external_id"]})
        assert listed.json()["items"] == []

    async def test_distributor_sees_its_dealers_but_not_other_regions(self, client_for: ClientFactory) -> None:
        north = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        south = await create(client_for("DLR-0100"), dealer_code="DLR-0100")
        distributor = client_for("D-NORTH")
        assert (await distributor.get(f"/v1/customers/{north['id']}")).status_code == 200
        assert (await distributor.get(f"/v1/customers/{south['id']}")).status_code == 404
        manufacturer = client_for("FTMS")
        assert (await manufacturer.get(f"/v1/customers/{south['id']}")).status_code == 200

    async def test_distributor_may_create_for_its_dealer_only(self, client_for: ClientFactory) -> None:
        distributor = client_for("D-NORTH")
        assert (await distributor.post("/v1/customers", json=customer_body(dealer_code="DLR-0043"))).status_code == 201
        foreign = await distributor.post("/v1/customers", json=customer_body(dealer_code="DLR-0100"))
        assert foreign.status_code == 422  # API.md: a body field naming an org out of reach
        assert foreign.json()["errors"] == [{"field": "dealer_code", "message": "unknown dealer"}]


class TestUpdate:
    async def test_update_with_current_etag_bumps_version(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer)
        response = await dealer.patch(f"/v1/customers/{created['id']}", json={"city": "Beijing", "consent": {"marketing": True}},
                                      headers={"If-Match": '"v1"'})
        assert response.status_code == 200, response.text
        assert response.headers["ETag"] == '"v2"'
        assert response.json()["city"] == "Beijing"
        assert response.json()["consent"] == {"survey": True, "marketing": True, "share_with_manufacturer": True}

    async def test_stale_if_match_is_412(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer)
        url = f"/v1/customers/{created['id']}"
        assert (await dealer.patch(url, json={"city": "A"}, headers={"If-Match": '"v1"'})).status_code == 200
        stale = await dealer.patch(url, json={"city": "B"}, headers={"If-Match": '"v1"'})
        assert stale.status_code == 412
        assert (await dealer.get(url)).json()["city"] == "A"

    async def test_of_concurrent_updates_holding_one_etag_exactly_one_wins(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer)
        url = f"/v1/customers/{created['id']}"
        answers = await asyncio.gather(*(dealer.patch(url, json={"city": f"City {n}"}, headers={"If-Match": '"v1"'})
                                         for n in range(10)))
        assert sorted(answer.status_code for answer in answers) == [200] + [412] * 9
        winner = next(answer for answer in answers if answer.status_code == 200)
        now = await dealer.get(url)
        assert now.json()["city"] == winner.json()["city"] and now.headers["ETag"] == '"v2"'

    async def test_update_without_if_match_is_428(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer)
        assert (await dealer.patch(f"/v1/customers/{created['id']}", json={"city": "A"})).status_code == 428

    @pytest.mark.parametrize("body", [{"phone": "nope"}, {"dealer_code": "DLR-0043"}, {"name": None}, {"email": 5}])
    async def test_bad_update_is_422_and_nothing_changes(self, dealer: httpx.AsyncClient, body: dict) -> None:
        created = await create(dealer)
        url = f"/v1/customers/{created['id']}"
        assert (await dealer.patch(url, json=body, headers={"If-Match": '"v1"'})).status_code == 422
        assert (await dealer.get(url)).json()["version"] == 1

    async def test_update_to_a_phone_of_another_customer_is_409(self, dealer: httpx.AsyncClient) -> None:
        first, second = await create(dealer), await create(dealer)
        response = await dealer.patch(f"/v1/customers/{second['id']}", json={"phone": first["phone"]}, headers={"If-Match": '"v1"'})
        assert response.status_code == 409
        assert response.json()["existing_id"] == first["id"]


class TestListing:
    async def test_list_masks_contact_without_pii_scope(self, client_for: ClientFactory) -> None:
        created = await create(client_for("DLR-0042"))
        reader = client_for("DLR-0042", scopes=frozenset({"customers:read"}))
        item = (await reader.get("/v1/customers", params={"q": created["external_id"]})).json()["items"][0]
        assert item["phone"] == created["phone"][:-8] + "****" + created["phone"][-4:]
        assert item["email"] == "l***@example.com"
        full = (await client_for("DLR-0042").get("/v1/customers", params={"q": created["external_id"]})).json()["items"][0]
        assert full["phone"] == created["phone"]

    async def test_list_filters_by_phone_in_any_format(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer)
        national = created["phone"][3:]
        items = (await dealer.get("/v1/customers", params={"phone": national})).json()["items"]
        assert [item["id"] for item in items] == [created["id"]]

    async def test_list_pages_with_cursor(self, client_for: ClientFactory) -> None:
        client = client_for("DLR-0043")
        ids = {(await create(client, dealer_code="DLR-0043", city="Pagetown"))["id"] for _ in range(3)}
        first = (await client.get("/v1/customers", params={"q": "Pagetown", "limit": 2})).json()
        second = (await client.get("/v1/customers", params={"q": "Pagetown", "limit": 2, "cursor": first["next_cursor"]})).json()
        seen = {item["id"] for item in first["items"] + second["items"]}
        assert ids <= seen and len(first["items"]) == 2

    async def test_dealer_code_filter(self, client_for: ClientFactory) -> None:
        manufacturer = client_for("FTMS")
        items = (await manufacturer.get("/v1/customers", params={"dealer_code": "DLR-0100", "limit": 500})).json()["items"]
        assert {item["dealer_code"] for item in items} <= {"DLR-0100"}


class TestIdempotency:
    async def test_replay_with_same_key_returns_first_response(self, dealer: httpx.AsyncClient) -> None:
        body = customer_body()
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        first = await dealer.post("/v1/customers", json=body, headers=headers)
        again = await dealer.post("/v1/customers", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"]
        assert again.headers.get("idempotent-replayed") == "true"
        listed = await dealer.get("/v1/customers", params={"q": body["external_id"]})
        assert len(listed.json()["items"]) == 1


    async def test_a_retry_sent_the_moment_the_answer_arrives_is_a_replay(self, app, dealer: httpx.AsyncClient) -> None:
        """The key holds the response before the caller sees its first byte (it answered 409
        "still being processed" to a client quick enough to retry in between)."""
        body = customer_body()
        key = str(uuid.uuid4())
        raw = json.dumps(body).encode()
        token = dealer.headers[INTERNAL_HEADER]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                 "path": "/v1/customers", "raw_path": b"/v1/customers", "query_string": b"", "root_path": "",
                 "client": ("127.0.0.1", 1), "server": ("customer.test", 80),
                 "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                             (b"idempotency-key", key.encode()), (INTERNAL_HEADER.lower().encode(), token.encode())]}
        retries: list[httpx.Response] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                retries.append(await dealer.post("/v1/customers", content=raw, headers={
                    "Idempotency-Key": key, "Content-Type": "application/json"}))

        await app(scope, receive, send)
        assert retries[0].status_code == 201, retries[0].text
        assert retries[0].headers.get("idempotent-replayed") == "true"


class TestErase:
    async def test_erase_anonymises_and_keeps_id(self, dealer: httpx.AsyncClient, app) -> None:
        created = await create(dealer)
        response = await dealer.post(f"/v1/customers/{created['id']}/erase")
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == created["id"] and body["erased"] is True
        assert body["name"] == "(erased)"
        assert [body[k] for k in ("phone", "email", "birth_date", "city")] == [None] * 4
        assert body["dealer_code"] == "DLR-0042"
        erased = [e for e in await outbox_events(app, "customer.erased") if e["data"]["customer_id"] == created["id"]]
        assert len(erased) == 1

    async def test_erased_customers_phone_is_free_again_and_record_frozen(self, dealer: httpx.AsyncClient) -> None:
        created = await create(dealer)
        await dealer.post(f"/v1/customers/{created['id']}/erase")
        assert (await dealer.post("/v1/customers", json=customer_body(phone=created["phone"]))).status_code == 201
        patched = await dealer.patch(f"/v1/customers/{created['id']}", json={"city": "X"}, headers={"If-Match": '"v2"'})
        assert patched.status_code == 409
