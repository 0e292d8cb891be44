"""Finding 14 (webhooks part): `POST /v1/webhooks` failed with an unhandled exception, which
reset the connection, on URLs whose host the URL parser or the IDNA codec refuses: a broken
IPv6 literal (`http://[::1/`), an empty label (`a..com`), a label over 63 characters, a bidi
control in the host. Every hostile body is an RFC 9457 problem, and nothing is stored; the
same for an update (`PATCH /v1/webhooks/{id}`), which leaves the webhook as it was, and for
event types outside the catalogue (SQL, control characters, 100,000 characters)."""

import httpx
import pytest

from gateway.settings import GatewaySettings
from tests.gateway.conftest import bearer, running_gateway
from tests.security.gateway_support import base_settings, org_tree, security_database_url  # noqa: F401

MIB = 1024 * 1024
HOSTILE_URLS = [
    "http://[::1/hook", "http://[::1]x/", "http://a..com/", "http://" + "a" * 64 + ".com/", "http://ex\u202eample.com/",
    "http://ex\u200bample.com/", "http://.com/", "https://-/", "http://[fe80::1%25eth0]/",
    "http://example.com:99999/", "http://example.com:-1/", "http://exa mple.com/", "http://%00/", "javascript:alert(1)",
    "http://" + "a." * 900 + "com/", "http://user:pw@example.com/", "http:///nohost",
]
RAW_BODIES = {
    "not JSON": b"\x00\x01\x02 <xml/>",
    "invalid UTF-8": b'{"url": "\xff\xfe\xc3\x28"}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "over the limit": b'{"url": "' + b"a" * (2 * MIB) + b'"}',
    "array": b"[]", "null": b"null", "huge number": b"1e400",
    "lone surrogate": b'{"url": "http://\\ud800.com/", "event_types": ["customer."], "org_code": "X"}',
}
HOSTILE_EVENT_TYPES = ["' OR '1'='1", "customer.'; DROP TABLE webhook_subscriptions; --", "customer.\x00", "a\u202eb.",
                       "customer." + "x" * 100_000, "", "CUSTOMER.", " customer.", "customer.*", "**"]
# A public address literal: accepted without a DNS lookup, never called (the dispatcher is off).
PUBLIC_URL = "http://93.184.215.14/hook"


@pytest.fixture
async def hooks(base_settings: GatewaySettings, security_database_url: str):  # noqa: ANN201, F811
    async with running_gateway(base_settings) as client:
        net = await org_tree(client, security_database_url, "webhooks:admin")
        yield client, net


def is_problem(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


async def test_hostile_urls_are_422_on_the_url_field(hooks) -> None:  # noqa: ANN001
    client, net = hooks
    failures = []
    for url in HOSTILE_URLS:
        response = await client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
            "url": url, "event_types": ["customer."], "org_code": net.codes["dlr11"]})
        if response.status_code != 422 or not is_problem(response) or response.json()["errors"][0]["field"] != "url":
            failures.append(f"{url[:40]!r}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
    listed = await client.get("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]))
    assert listed.json()["items"] == []


async def a_webhook(client: httpx.AsyncClient, key: str, org_code: str) -> dict:
    created = await client.post("/v1/webhooks", headers=bearer(key), json={
        "url": PUBLIC_URL, "event_types": ["customer."], "org_code": org_code})
    assert created.status_code == 201, created.text
    return created.json()


async def test_hostile_event_types_are_422_on_create_and_update(hooks) -> None:  # noqa: ANN001
    client, net = hooks
    key = net.admin_keys["dlr11"]
    hook = await a_webhook(client, key, net.codes["dlr11"])
    failures = []
    for event_type in HOSTILE_EVENT_TYPES:
        for method, path, body in (
                ("POST", "/v1/webhooks", {"url": PUBLIC_URL, "event_types": ["customer.", event_type],
                                          "org_code": net.codes["dlr11"]}),
                ("PATCH", f"/v1/webhooks/{hook['id']}", {"event_types": ["customer.", event_type]})):
            response = await client.request(method, path, headers=bearer(key), json=body)
            if response.status_code != 422 or not is_problem(response) or \
                    response.json()["errors"][0]["field"] != "event_types.1":
                failures.append(f"{method} {event_type[:40]!r}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
    listed = await client.get("/v1/webhooks", headers=bearer(key))
    assert listed.json()["items"] == [{k: v for k, v in hook.items() if k != "secret"}]


async def test_hostile_urls_on_update_are_422_and_change_nothing(hooks) -> None:  # noqa: ANN001
    client, net = hooks
    key = net.admin_keys["dlr11"]
    hook = await a_webhook(client, key, net.codes["dlr11"])
    failures = []
    for url in HOSTILE_URLS:
        response = await client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(key),
                                      json={"url": url, "enabled": False})
        if response.status_code != 422 or not is_problem(response) or response.json()["errors"][0]["field"] != "url":
            failures.append(f"{url[:40]!r}: {response.status_code} {response.text[:120]}")
    assert not failures, "\n".join(failures)
    shown = await client.get(f"/v1/webhooks/{hook['id']}", headers=bearer(key))
    assert (shown.json()["url"], shown.json()["enabled"]) == (PUBLIC_URL, True)


@pytest.mark.parametrize("operation", ["create", "update"])
async def test_malformed_chunked_and_wrongly_typed_bodies_are_problems(hooks, operation: str) -> None:  # noqa: ANN001
    client, net = hooks
    headers = {**bearer(net.admin_keys["dlr11"]), "Content-Type": "application/json"}
    if operation == "create":
        method, path = "POST", "/v1/webhooks"
    else:
        method, path = "PATCH", f"/v1/webhooks/{(await a_webhook(client, net.admin_keys['dlr11'], net.codes['dlr11']))['id']}"
    failures = []
    for name, body in RAW_BODIES.items():
        for chunked in (False, True):
            async def stream(data: bytes = body):  # noqa: ANN202
                for start in range(0, len(data), 64 * 1024):
                    yield data[start:start + 64 * 1024]

            response = await client.request(method, path, content=stream() if chunked else body, headers=headers)
            if response.status_code not in (400, 413, 422) or not is_problem(response):
                failures.append(f"{name} (chunked={chunked}): {response.status_code} {response.text[:120]}")
    for body in ({"url": 5, "event_types": "customer.", "org_code": []}, {"url": None, "event_types": []},
                 {"event_types": [1, None]}, {"enabled": "yes please"}):
        response = await client.request(method, path, json=body, headers=headers)
        if response.status_code != 422 or not is_problem(response):
            failures.append(f"{body}: {response.status_code}")
    form = await client.request(method, path, content=b"url=x", headers={**headers, "Content-Type": "text/plain"})
    if form.status_code not in (415, 422) or not is_problem(form):
        failures.append(f"text/plain: {form.status_code}")
    assert not failures, "\n".join(failures)
