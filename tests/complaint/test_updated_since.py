"""`?updated_since=` on the complaints list: a delta feed by (updated_at, id), in the caller's scope."""

from datetime import UTC, datetime

import httpx
import pytest

from tests.complaint.conftest import as_, deliver, move, opened

pytestmark = pytest.mark.asyncio


def now() -> str:
    return datetime.now(UTC).isoformat()


async def feed(client: httpx.AsyncClient, caller: str, since: str, limit: int = 2, **params: str) -> list[dict]:
    """Every case of the feed, page by page."""
    items, cursor = [], None
    while True:
        answer = await client.get("/v1/complaints", headers=as_(caller), params={
            "updated_since": since, "limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            return items


async def test_the_feed_lists_changes_in_update_order_across_pages(client: httpx.AsyncClient) -> None:
    old = await opened(client)
    since = now()
    first, second, third = [await opened(client) for _ in range(3)]
    assert (await move(client, first, "acknowledged")).status_code == 200
    items = await feed(client, "D1", since, dealer_code="D1")
    assert [item["id"] for item in items] == [second["id"], third["id"], first["id"]]
    assert old["id"] not in [item["id"] for item in items]
    stamps = [item["updated_at"] for item in items]
    assert stamps == sorted(stamps) and first["updated_at"] > second["updated_at"] >= since
    # Paging twice gives the same pages: the cursor holds its place.
    assert await feed(client, "D1", since, dealer_code="D1") == items
    # Without updated_since the list keeps its creation order.
    plain = (await client.get("/v1/complaints", headers=as_("D1"), params={"limit": 500})).json()["items"]
    ids = [item["id"] for item in plain]
    assert ids.index(first["id"]) < ids.index(second["id"]) < ids.index(third["id"])


async def test_a_change_by_the_system_moves_a_case_too(client: httpx.AsyncClient) -> None:
    """The customer service's erasure blanks the case through the ORM, not an ETag: still a change."""
    case = await opened(client)
    since = now()
    assert await deliver(client, "customer.erased", {
        "customer_id": case["customer_id"], "dealer_code": "D1", "org_path": "/OEM/DN/D1/",
        "erased_at": since}, source="/csloop/customer") == "applied"
    items = [item for item in await feed(client, "D1", since, limit=50) if item["id"] == case["id"]]
    assert items and items[0]["customer_id"] is None and items[0]["updated_at"] > case["updated_at"]


async def test_a_cursor_of_one_ordering_is_refused_by_the_other(client: httpx.AsyncClient) -> None:
    await opened(client)
    await opened(client)
    plain_cursor = (await client.get("/v1/complaints", headers=as_("D1"), params={"limit": 1})).json()["next_cursor"]
    refused = await client.get("/v1/complaints", headers=as_("D1"), params={
        "limit": 1, "cursor": plain_cursor, "updated_since": "2000-01-01T00:00:00Z"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00", "yesterday", "0001-01-01T00:00:00+01:00",
                                   "9999-12-31T23:59:59-01:00"])
async def test_a_time_without_offset_or_out_of_range_is_a_422_problem(client: httpx.AsyncClient, value: str) -> None:
    answer = await client.get("/v1/complaints", headers=as_("D1"), params={"updated_since": value})
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"].endswith("updated_since")


async def test_a_sibling_dealers_cases_never_appear(client: httpx.AsyncClient) -> None:
    since = now()
    theirs = await opened(client, "D2")
    assert theirs["id"] not in [item["id"] for item in await feed(client, "D1", since, limit=50)]
    assert theirs["id"] in [item["id"] for item in await feed(client, "DN", since, limit=50)]
