"""Finding 11: `/internal/events` and paths nothing serves buffered 150 MiB bodies from
anyone (gateway RSS 121 -> 403 MiB per request), and any unmatched path ending in `/import`
took the 200 MiB import limit. The caller is authenticated before a body is read, and only
the routed import operations take the bulk limit.

The app is called over raw ASGI with a body that would be 150 MiB: the test counts how many
of its 1 MiB chunks the gateway pulled before answering.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.edge.limits import body_limit
from gateway.settings import GatewaySettings
from shared.auth import mint_internal_token, system_principal
from tests.security.gateway_support import base_settings, security_database_url  # noqa: F401

MIB = 1024 * 1024
CHUNKS = 150


@asynccontextmanager
async def running(settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def post_huge(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, int]:
    """(status, chunks read) for a chunked POST of CHUNKS MiB."""
    pulled = 0
    chunk = b"x" * MIB

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        if pulled > CHUNKS:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": pulled < CHUNKS}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"gateway.test"), (b"content-type", b"application/json"), *headers],
             "client": ("198.51.100.9", 40000), "server": ("gateway.test", 80)}
    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), pulled


@pytest.mark.parametrize("path", ["/x/import", "/v1/nothing/import", "/nothing", "/internal/nothing"])
async def test_a_body_to_a_path_nothing_serves_is_not_read(base_settings: GatewaySettings, path: str) -> None:  # noqa: F811
    async with running(base_settings) as app:
        status, pulled = await post_huge(app, path)
    assert status in (404, 405)
    assert pulled <= 1


async def test_internal_events_without_a_token_is_401_before_the_body(base_settings: GatewaySettings) -> None:  # noqa: F811
    async with running(base_settings) as app:
        assert await post_huge(app, "/internal/events") == (401, 0)
        status, pulled = await post_huge(app, "/internal/events", [(b"x-internal-token", b"forged")])
        assert (status, pulled) == (401, 0)


async def test_internal_events_with_a_user_token_is_403_before_the_body(base_settings: GatewaySettings) -> None:  # noqa: F811
    from shared.auth import Principal

    dealer = Principal(subject="key:x", org_code="D", org_path="/M/D/", org_kind="dealer", roles=(),
                       scopes=frozenset({"customers:read"}))
    token = mint_internal_token(dealer, base_settings.internal_secret, 60).encode()
    async with running(base_settings) as app:
        assert await post_huge(app, "/internal/events", [(b"x-internal-token", token)]) == (403, 0)


async def test_internal_events_from_a_service_still_take_a_bulk_batch(base_settings: GatewaySettings) -> None:  # noqa: F811
    token = mint_internal_token(system_principal(), base_settings.internal_secret, 60).encode()
    async with running(base_settings) as app:
        status, pulled = await post_huge(app, "/internal/events", [(b"x-internal-token", token)])
    assert status == 422 and pulled == CHUNKS  # read whole (under the bulk limit), then refused as not JSON


async def test_own_routes_unauthenticated_read_at_most_the_small_limit(base_settings: GatewaySettings) -> None:  # noqa: F811
    async with running(base_settings) as app:
        status, pulled = await post_huge(app, "/v1/orgs")
    assert status == 413 and pulled <= base_settings.max_body_bytes // MIB + 1


def test_only_routed_import_operations_take_the_bulk_limit(base_settings: GatewaySettings) -> None:  # noqa: F811
    bulk, small = base_settings.max_import_body_bytes, base_settings.max_body_bytes
    assert body_limit("/v1/customers/import", base_settings) == bulk
    assert body_limit("/v1/survey-responses/import", base_settings) == bulk
    for path in ("/x/import", "/v1/customers/123/import", "/v1/kpi/import", "/v1/public/surveys/t/import"):
        assert body_limit(path, base_settings) == small, path
