"""`?updated_since=` on the gateway's own lists: orgs, API keys, users, OAuth clients, webhooks and a
webhook's deliveries. A delta feed by (updated_at, id): what changed at or after the mark, in the
caller's subtree only. (Here, not in tests/gateway/, for the webhook fixtures: a dispatcher and a receiver.)"""

import uuid
from datetime import UTC, datetime

import pytest

from gateway.settings import GatewaySettings
from tests.gateway.conftest import OrgTree, bearer
from tests.gateway.integrations.conftest import org_event, publish
from tests.gateway.integrations.receiver import Receiver
from tests.gateway.integrations.test_oauth import new_client
from tests.gateway.integrations.test_webhooks import settled, subscribe

LISTS = ["/v1/orgs", "/v1/api-keys", "/v1/users", "/v1/oauth/clients", "/v1/webhooks"]


def now() -> str:
    return datetime.now(UTC).isoformat()


async def feed(net: OrgTree, label: str, path: str, since: str, limit: int = 2) -> list[dict]:
    """Every item of the feed, page by page; the same rows as one large page, none twice."""
    items, cursor = [], None
    while True:
        answer = await net.client.get(path, headers=bearer(net.admin_keys[label]), params={
            "updated_since": since, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            break
    whole = await net.client.get(path, headers=bearer(net.admin_keys[label]), params={"updated_since": since, "limit": 500})
    assert items == whole.json()["items"]
    stamps = [at(item["updated_at"]) for item in items]
    assert stamps == sorted(stamps) and all(stamp >= at(since) for stamp in stamps)
    return items


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def ids(items: list[dict], key: str = "id") -> list[str]:
    return [item[key] for item in items]


async def new_user(net: OrgTree, label: str) -> dict:
    answer = await net.client.post("/v1/users", headers=bearer(net.admin_keys[label]), json={
        "username": f"feed-{uuid.uuid4().hex[:10]}", "password": "correct horse battery", "org_code": net.codes[label]})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def new_key(net: OrgTree, label: str) -> dict:
    answer = await net.client.post("/v1/api-keys", headers=bearer(net.admin_keys[label]), json={
        "org_code": net.codes[label], "name": "feed", "scopes": ["customers:read"]})
    assert answer.status_code == 201, answer.text
    listed = await net.client.get("/v1/api-keys", headers=bearer(net.admin_keys[label]), params={"limit": 500})
    return next(key for key in listed.json()["items"] if key["id"] == answer.json()["id"])


class TestFeeds:
    async def test_orgs_made_after_the_mark_only_and_never_outside_the_subtree(self, net: OrgTree) -> None:
        since = now()
        dealer = await net.add_org("dlr13", "dealer", "d1")
        await net.add_org("dlr14", "dealer", "d1")
        assert ids(await feed(net, "d1", "/v1/orgs", since, limit=1), "code") == [dealer, net.codes["dlr14"]]
        assert ids(await feed(net, "dlr11", "/v1/orgs", "2000-01-01T00:00:00Z"), "code") == [net.codes["dlr11"]]

    async def test_a_key_revoked_after_the_mark_comes_after_the_keys_made_since(self, net: OrgTree) -> None:
        old, untouched = await new_key(net, "dlr11"), await new_key(net, "dlr11")
        since = now()
        fresh = [await new_key(net, "dlr11") for _ in range(2)]
        assert (await net.client.delete(f"/v1/api-keys/{old['id']}", headers=bearer(net.admin_keys["dlr11"]))).status_code == 204
        sibling = await new_key(net, "dlr12")
        items = await feed(net, "dlr11", "/v1/api-keys", since)
        assert ids(items) == [fresh[0]["id"], fresh[1]["id"], old["id"]]
        assert items[-1]["revoked_at"] and at(items[-1]["updated_at"]) > at(old["updated_at"])
        assert untouched["id"] not in ids(items) and sibling["id"] not in ids(items)

    async def test_users_made_after_the_mark_only(self, net: OrgTree) -> None:
        old = await new_user(net, "dlr11")
        since = now()
        fresh = [await new_user(net, "dlr11") for _ in range(3)]
        await new_user(net, "dlr12")
        assert ids(await feed(net, "dlr11", "/v1/users", since)) == ids(fresh)
        assert old["id"] not in ids(await feed(net, "d1", "/v1/users", since))

    async def test_an_oauth_client_revoked_after_the_mark_is_in_the_feed(self, net: OrgTree) -> None:
        old, untouched = await new_client(net, "dlr11", ["customers:read"]), await new_client(net, "dlr11", ["customers:read"])
        since = now()
        fresh = await new_client(net, "dlr11", ["customers:read"])
        revoked = await net.client.delete(f"/v1/oauth/clients/{old['client_id']}", headers=bearer(net.admin_keys["dlr11"]))
        assert revoked.status_code == 204
        await new_client(net, "dlr12", ["customers:read"])
        items = await feed(net, "dlr11", "/v1/oauth/clients", since, limit=1)
        assert ids(items, "client_id") == [fresh["client_id"], old["client_id"]] and items[-1]["revoked_at"]
        assert untouched["client_id"] not in ids(items, "client_id")

    async def test_a_webhook_changed_after_the_mark_moves_to_the_end(self, net: OrgTree, receiver: Receiver) -> None:
        old = await subscribe(net, "dlr11", receiver.answer(f"/feed/{uuid.uuid4().hex}"))
        untouched = await subscribe(net, "dlr11", receiver.answer(f"/feed/{uuid.uuid4().hex}"))
        since = now()
        fresh = [await subscribe(net, "dlr11", receiver.answer(f"/feed/{uuid.uuid4().hex}")) for _ in range(2)]
        patched = await net.client.patch(f"/v1/webhooks/{old['id']}", headers=bearer(net.admin_keys["dlr11"]),
                                         json={"enabled": False})
        assert patched.status_code == 200, patched.text
        await subscribe(net, "dlr12", receiver.answer(f"/feed/{uuid.uuid4().hex}"))
        items = await feed(net, "dlr11", "/v1/webhooks", since)
        assert ids(items) == [fresh[0]["id"], fresh[1]["id"], old["id"]] and items[-1]["enabled"] is False
        assert untouched["id"] not in ids(items)

    async def test_deliveries_settled_after_the_mark_only(self, net: OrgTree, receiver: Receiver,
                                                          hooks_settings: GatewaySettings) -> None:
        hook = await subscribe(net, "dlr11", receiver.answer(f"/feed/{uuid.uuid4().hex}"))
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        [old] = await settled(net, "dlr11", hook["id"])
        since = now()
        await publish(net.client, hooks_settings, *[org_event(net, "d1", "dlr11") for _ in range(3)])
        fresh = await settled(net, "dlr11", hook["id"])
        items = await feed(net, "dlr11", f"/v1/webhooks/{hook['id']}/deliveries", since)
        assert sorted(ids(items)) == sorted(ids(fresh)[1:]) and old["id"] not in ids(items)
        # Delivering is a change: the stamp is the outcome's, not the queueing's.
        assert all(item["status"] == "delivered" and at(item["updated_at"]) >= at(item["delivered_at"]) for item in items)
        other = await net.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=bearer(net.admin_keys["dlr12"]),
                                     params={"updated_since": since})
        assert other.status_code == 404


@pytest.mark.parametrize("path", [*LISTS, "/v1/webhooks/{hook}/deliveries"])
async def test_a_time_without_offset_or_out_of_range_is_a_422_problem(net: OrgTree, receiver: Receiver, path: str) -> None:
    hook = await subscribe(net, "dlr11", receiver.answer(f"/feed/{uuid.uuid4().hex}"))
    for value in ("2026-01-01T00:00:00", "yesterday", "0001-01-01T00:00:00+01:00"):
        answer = await net.client.get(path.format(hook=hook["id"]), headers=bearer(net.admin_keys["dlr11"]),
                                      params={"updated_since": value})
        assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json"), value
        assert answer.json()["errors"][0]["field"].endswith("updated_since")


async def test_a_cursor_of_the_creation_order_is_refused_by_the_feed(net: OrgTree) -> None:
    await new_key(net, "dlr11")
    await new_key(net, "dlr11")
    cursor = (await net.client.get("/v1/api-keys", headers=bearer(net.admin_keys["dlr11"]), params={"limit": 1})).json()["next_cursor"]
    refused = await net.client.get("/v1/api-keys", headers=bearer(net.admin_keys["dlr11"]), params={
        "limit": 1, "cursor": cursor, "updated_since": "2000-01-01T00:00:00Z"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "cursor"
