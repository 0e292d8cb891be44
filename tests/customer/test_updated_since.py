"""`?updated_since=` on every list: a delta feed by (updated_at, id), with tombstones for erased customers."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.customer.conftest import ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create
from tests.customer.test_followups import deliver

pytestmark = pytest.mark.asyncio


def now() -> str:
    return datetime.now(UTC).isoformat()


async def feed(client: httpx.AsyncClient, path: str, since: str, limit: int = 2, **params: str) -> list[dict]:
    """Every item of the feed, page by page."""
    items, cursor = [], None
    while True:
        answer = await client.get(path, params={"updated_since": since, "limit": limit, **params,
                                                **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            return items


class TestCustomersFeed:
    async def test_the_feed_lists_changes_in_update_order_and_a_changed_row_moves_to_the_end(
            self, dealer: httpx.AsyncClient) -> None:
        since, marker = now(), uuid.uuid4().hex[:10]
        first, second, third = [await create(dealer, name=f"Feed {marker}") for _ in range(3)]
        touched = await dealer.patch(f"/v1/customers/{first['id']}", json={"city": "成都"}, headers={"If-Match": '"v1"'})
        assert touched.status_code == 200
        items = await feed(dealer, "/v1/customers", since, dealer_code="DLR-0042")
        assert [item["id"] for item in items] == [second["id"], third["id"], first["id"]]
        assert items[-1]["city"] == "成都"
        stamps = [item["updated_at"] for item in items]
        assert stamps == sorted(stamps) and touched.json()["updated_at"] > first["updated_at"]
        # Without updated_since the list keeps its creation order.
        plain = (await dealer.get("/v1/customers", params={"q": marker})).json()["items"]
        assert [item["id"] for item in plain] == [first["id"], second["id"], third["id"]]

    async def test_records_before_the_mark_are_left_out(self, dealer: httpx.AsyncClient) -> None:
        old = await create(dealer)
        since = now()
        new = await create(dealer)
        ids = [item["id"] for item in await feed(dealer, "/v1/customers", since, limit=50)]
        assert new["id"] in ids and old["id"] not in ids

    async def test_an_erased_customer_is_a_tombstone_in_the_feed_only(self, dealer: httpx.AsyncClient) -> None:
        person = await create(dealer)
        since = now()
        assert (await dealer.post(f"/v1/customers/{person['id']}/erase")).status_code == 200
        items = await feed(dealer, "/v1/customers", since, limit=50)
        tombstone = next(item for item in items if item["id"] == person["id"])
        assert set(tombstone) == {"id", "dealer_code", "deleted", "updated_at"} and tombstone["deleted"] is True
        plain = (await dealer.get("/v1/customers", params={"q": "(erased)", "limit": 500})).json()["items"]
        assert plain and all(item["erased"] is True and "deleted" not in item for item in plain)

    async def test_a_cursor_of_one_ordering_is_refused_by_the_other(self, dealer: httpx.AsyncClient) -> None:
        await create(dealer)
        await create(dealer)
        plain_cursor = (await dealer.get("/v1/customers", params={"limit": 1})).json()["next_cursor"]
        assert plain_cursor
        refused = await dealer.get("/v1/customers", params={"limit": 1, "cursor": plain_cursor,
                                                            "updated_since": "2000-01-01T00:00:00Z"})
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "cursor"

    @pytest.mark.parametrize("value", ["2026-01-01T00:00:00", "yesterday", "0001-01-01T00:00:00+01:00",
                                       "9999-12-31T23:59:59-01:00"])
    async def test_a_time_without_offset_or_out_of_range_is_422(self, dealer: httpx.AsyncClient, value: str) -> None:
        answer = await dealer.get("/v1/customers", params={"updated_since": value})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"].endswith("updated_since")

    async def test_the_feed_keeps_the_callers_scope(self, client_for: ClientFactory) -> None:
        since = now()
        theirs = await create(client_for("DLR-0043"), dealer_code="DLR-0043")
        assert theirs["id"] not in [i["id"] for i in await feed(client_for("DLR-0042"), "/v1/customers", since, 50)]
        assert theirs["id"] in [i["id"] for i in await feed(client_for("D-NORTH"), "/v1/customers", since, 50)]


class TestOtherFeeds:
    async def test_vehicles_and_visits_changed_since(self, dealer: httpx.AsyncClient) -> None:
        owner = await create(dealer)
        old_vin, vin = vin_with_check_digit(), vin_with_check_digit()
        assert (await dealer.put(f"/v1/vehicles/{old_vin}", json={"model": "Old"})).status_code == 201
        since = now()
        assert (await dealer.put(f"/v1/vehicles/{vin}", json={"model": "New"})).status_code == 201
        opened = datetime.now(UTC) - timedelta(hours=2)
        ro = f"RO-{uuid.uuid4().hex[:8]}"
        visit = await dealer.put(f"/v1/service-visits/by-ro/DLR-0042/{ro}", json={
            "vin": vin, "customer_id": owner["id"], "visit_type": "maintenance", "opened_at": opened.isoformat()})
        assert visit.status_code == 201
        assert (await dealer.put(f"/v1/vehicles/{old_vin}", json={"model": "Old, corrected"})).status_code == 200
        vins = [item["vin"] for item in await feed(dealer, "/v1/vehicles", since)]
        assert vins == [vin, old_vin]
        visits = await feed(dealer, "/v1/service-visits", since)
        assert [item["ro_number"] for item in visits] == [ro] and visits[0]["updated_at"]

    async def test_follow_ups_changed_since(self, app, dealer: httpx.AsyncClient, client_for: ClientFactory) -> None:
        since = now()
        prospect = await dealer.post("/v1/prospects", json={"name": "钱七", "level": "H"})
        assert prospect.status_code == 201
        await deliver(app, client_for, "prospect.created", "prospect_id", prospect.json()["id"], times=1)
        items = await feed(dealer, "/v1/follow-ups", since, limit=50)
        assert [item for item in items if item["prospect_id"] == prospect.json()["id"]]
        assert not [item for item in items if item["updated_at"] < since]
