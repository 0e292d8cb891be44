"""Idempotency-Key on the gateway's own creates (issue 13 item 6): a replay answers the first
answer and creates nothing; where that answer showed a secret, a replay is a 409 naming the id
and the secret is kept nowhere; the key is the caller's own; the key and the record commit in
one transaction (gateway/identity/idempotency.py)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from gateway.models import idempotency_keys
from gateway.settings import GatewaySettings
from shared.db import create_engine, utcnow
from shared.idempotency import caller_scoped_key
from tests.gateway.conftest import ALL_SCOPES_BUT_ADMIN, OrgTree, bearer, running_gateway

ADMIN = ["orgs:admin", "webhooks:admin", *ALL_SCOPES_BUT_ADMIN]


@pytest.fixture(scope="module")
async def gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway of the other tests, allowed to name a loopback webhook target (never called here)."""
    async with running_gateway(settings.model_copy(update={"webhooks_allow_private_targets": True})) as client:
        yield client


@pytest.fixture
async def net(tree: OrgTree, gateway: httpx.AsyncClient) -> OrgTree:
    tree.client = gateway
    for label in ("d1", "dlr11", "dlr12"):
        tree.admin_keys[label] = await tree.key_for(label, ADMIN)
    return tree


@dataclass(frozen=True)
class Kind:
    path: str
    list_path: str
    secret_field: str | None
    id_field: str
    location: str | None  # the created record's address, "{id}" filled in

    def body(self, net: OrgTree, name: str) -> dict[str, Any]:
        org = net.codes["dlr11"]
        return {
            "/v1/orgs": {"code": name.upper()[:30], "name": name, "kind": "dealer", "parent_code": net.codes["d1"]},
            "/v1/api-keys": {"org_code": org, "name": name, "scopes": ["customers:read"]},
            "/v1/users": {"org_code": org, "username": name, "password": "correct horse battery", "scopes": []},
            "/v1/oauth/clients": {"org_code": org, "name": name, "scopes": ["customers:read"]},
            "/v1/webhooks": {"org_code": org, "url": f"http://127.0.0.1:9/{name}", "event_types": ["customer."]},
        }[self.path]

    def listed(self, page: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
        return [item for item in page["items"] if item.get("name", item.get("username", item.get("url"))) in
                (body.get("name"), body.get("username"), body.get("url"))
                and (self.path != "/v1/orgs" or item["code"] == body["code"])]


KINDS = [
    Kind("/v1/orgs", "/v1/orgs?limit=500", None, "code", "/v1/orgs/{id}"),
    Kind("/v1/users", "/v1/users?limit=500", None, "id", None),
    Kind("/v1/api-keys", "/v1/api-keys?limit=500", "key", "id", None),
    Kind("/v1/oauth/clients", "/v1/oauth/clients?limit=500", "client_secret", "client_id", "/v1/oauth/clients/{id}"),
    Kind("/v1/webhooks", "/v1/webhooks?limit=500", "secret", "id", "/v1/webhooks/{id}"),
]
USERS, API_KEYS = KINDS[1], KINDS[2]
PLAIN = [kind for kind in KINDS if kind.secret_field is None]
SECRET = [kind for kind in KINDS if kind.secret_field is not None]


def name() -> str:
    return f"idem-{uuid.uuid4().hex[:10]}"


def keyed(net: OrgTree, label: str, key: str) -> dict[str, str]:
    return {**bearer(net.admin_keys[label]), "Idempotency-Key": key}


async def stored_rows(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(select(idempotency_keys))).mappings()]
    finally:
        await engine.dispose()


async def count(net: OrgTree, kind: Kind, body: dict[str, Any]) -> int:
    page = await net.client.get(kind.list_path, headers=bearer(net.admin_keys["d1"]))
    assert page.status_code == 200, page.text
    return len(kind.listed(page.json(), body))


@pytest.mark.parametrize("kind", PLAIN, ids=lambda kind: kind.path)
async def test_a_replay_answers_the_first_answer_and_creates_nothing(net: OrgTree, kind: Kind) -> None:
    body, key = kind.body(net, name()), str(uuid.uuid4())
    first = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=body)
    assert first.status_code == 201, first.text
    again = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=body)
    assert again.status_code == 201
    assert again.json() == first.json() and again.json()[kind.id_field] == first.json()[kind.id_field]
    assert again.headers.get("location") == first.headers.get("location")
    if kind.location:
        assert first.headers["location"] == kind.location.format(id=first.json()[kind.id_field])
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert await count(net, kind, body) == 1


@pytest.mark.parametrize("kind", SECRET, ids=lambda kind: kind.path)
async def test_a_replay_of_a_secret_is_a_409_naming_the_id_and_the_secret_is_kept_nowhere(
        net: OrgTree, kind: Kind, database_url: str) -> None:
    body, key = kind.body(net, name()), str(uuid.uuid4())
    first = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=body)
    assert first.status_code == 201, first.text
    created_id, secret = str(first.json()[kind.id_field]), first.json()[kind.secret_field]
    if kind.location:
        assert first.headers["location"] == kind.location.format(id=created_id)

    again = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=body)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    problem = again.json()
    assert problem["title"] == "Already created" and problem["status"] == 409 and problem["id"] == created_id
    assert problem["type"].endswith("/already-created")
    assert again.headers.get("location") == first.headers.get("location")
    assert secret not in again.text
    assert await count(net, kind, body) == 1

    rows = await stored_rows(database_url)
    assert rows and not any(secret in repr(row) or secret.encode() in (row["body"] or b"") for row in rows)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.path)
async def test_the_same_key_with_another_body_is_a_422(net: OrgTree, kind: Kind) -> None:
    key = str(uuid.uuid4())
    first = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=kind.body(net, name()))
    assert first.status_code == 201, first.text
    other = kind.body(net, name())
    again = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=other)
    assert again.status_code == 422
    assert again.json()["errors"] == [{"field": "Idempotency-Key", "message": "reused with another body"}]
    assert await count(net, kind, other) == 0


@pytest.mark.parametrize("kind", [API_KEYS, USERS], ids=lambda kind: kind.path)
async def test_another_callers_key_does_not_replay(net: OrgTree, kind: Kind) -> None:
    """d1's admin and dlr11's admin may both create in dlr11; the same key and body from the
    second runs as a request of its own (a new API key; for a user, the taken username)."""
    body, key = kind.body(net, name()), str(uuid.uuid4())
    first = await net.client.post(kind.path, headers=keyed(net, "d1", key), json=body)
    assert first.status_code == 201, first.text
    theirs = await net.client.post(kind.path, headers=keyed(net, "dlr11", key), json=body)
    assert "idempotent-replayed" not in theirs.headers
    if kind.secret_field:
        assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]
    else:
        assert theirs.status_code == 409
        assert theirs.json()["errors"] == [{"field": "username", "message": "already exists"}]


async def test_a_failed_create_keeps_no_key_so_a_corrected_retry_runs(net: OrgTree, database_url: str) -> None:
    """The key is claimed in the create's own transaction: an error (as a crash would) rolls the
    claim back with the record, so no key is left "in progress" and nothing half-made stays."""
    key, taken = str(uuid.uuid4()), name()
    made = await net.client.post(USERS.path, headers=bearer(net.admin_keys["d1"]), json=USERS.body(net, taken))
    assert made.status_code == 201
    before = len(await stored_rows(database_url))
    refused = await net.client.post(USERS.path, headers=keyed(net, "d1", key), json=USERS.body(net, taken))
    assert refused.status_code == 409
    assert len(await stored_rows(database_url)) == before
    fixed = await net.client.post(USERS.path, headers=keyed(net, "d1", key), json=USERS.body(net, name()))
    assert fixed.status_code == 201, fixed.text
    assert len(await stored_rows(database_url)) == before + 1


async def test_a_duplicate_while_the_first_runs_is_a_409_in_progress(net: OrgTree, database_url: str) -> None:
    """Another transaction holds the claim (the first request, still running): the duplicate
    waits for it, then answers 409 without creating anything."""
    made = await net.client.post("/v1/api-keys", headers=bearer(net.admin_keys["d1"]),
                                 json={"org_code": net.codes["d1"], "name": "caller", "scopes": ADMIN})
    caller = made.json()
    key, body = str(uuid.uuid4()), USERS.body(net, name())
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(insert(idempotency_keys).values(
                scope_key=caller_scoped_key(f"key:{caller['id']}", "/v1/users", key.encode()), fingerprint="x" * 64,
                created_at=utcnow()))
            duplicate = asyncio.create_task(net.client.post(
                "/v1/users", headers={**bearer(caller["key"]), "Idempotency-Key": key}, json=body))
            await asyncio.sleep(0.5)
            assert not duplicate.done()  # waiting on the first request's claim
            await transaction.commit()
            answer = await duplicate
    finally:
        await engine.dispose()
    assert answer.status_code == 409 and "being processed" in answer.json()["detail"]
    assert await count(net, USERS, body) == 0


async def test_concurrent_duplicates_create_one_record(net: OrgTree) -> None:
    body, key = USERS.body(net, name()), str(uuid.uuid4())
    answers = await asyncio.gather(*[net.client.post(USERS.path, headers=keyed(net, "d1", key), json=body)
                                     for _ in range(3)])
    created = [a for a in answers if a.status_code == 201]
    assert created and all(a.json() == created[0].json() for a in created)
    assert all(a.status_code in (201, 409) for a in answers)
    assert await count(net, USERS, body) == 1


async def test_the_header_is_documented_on_every_create(net: OrgTree) -> None:
    doc = (await net.client.get("/openapi.json")).json()
    for kind in KINDS:
        parameters = doc["paths"][kind.path]["post"].get("parameters", [])
        assert [p["in"] for p in parameters if p["name"] == "Idempotency-Key"] == ["header"], kind.path


async def test_an_overlong_key_is_a_422(net: OrgTree) -> None:
    answer = await net.client.post(USERS.path, headers=keyed(net, "d1", "k" * 201), json=USERS.body(net, name()))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"
