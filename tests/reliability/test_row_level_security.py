"""The database's second wall (PostgreSQL row-level security): a query that forgot the scope filter leaks nothing.

The suite's processes connect as the plain role `csloop_app` (tests/conftest.py), so the
policies of shared/rls.py bind them. SQLite has no row-level security: these tests need
PostgreSQL (CSLOOP_TEST_DATABASE_URL) and are skipped without it.
"""

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from starlette.requests import Request

from cli.topology import internal_secret
from services.customer.models import Customer
from shared.auth import INTERNAL_HEADER, Principal, TokenVerifier, mint_internal_token
from shared.db import create_engine, session_factory
from shared.service_app import request_session
from tests.support.databases import postgres_base_url
from tests.support.suite import Network, Org

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not postgres_base_url(), reason="row-level security is PostgreSQL-only")]


def make_customer(org: Org) -> str:
    created = org.client.post("/v1/customers", json={"external_id": uuid.uuid4().hex, "dealer_code": org.code,
                                                     "name": "RLS probe", "phone": "+8613800138000"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def customer_database(network: Network) -> str:
    component = next(c for c in network.suite.components if c.name == "customer")
    return network.suite.database_url(component)


def request_for(principal: Principal, sessions: async_sessionmaker, secret: str) -> Request:
    """A request as the customer service sees it: the gateway's internal token for `principal`."""
    app = SimpleNamespace(state=SimpleNamespace(sessions=sessions, token_verifier=TokenVerifier(secret),
                                                relay=SimpleNamespace(wake=lambda: None)))
    token = mint_internal_token(principal, secret)
    return Request({"type": "http", "app": app, "headers": [(INTERNAL_HEADER.lower().encode(), token.encode())]})


async def unscoped_customer_ids(url: str, request: Request) -> set[str]:
    engine = create_engine(url)
    request.app.state.sessions = session_factory(engine)
    try:
        async for session in request_session(request):
            # The bug under test: `select(Customer)` without ScopedRepository's filter.
            return {str(row) for row in (await session.scalars(select(Customer.id))).all()}
    finally:
        await engine.dispose()
    raise AssertionError("request_session yielded no session")


@pytest.fixture(scope="module")
def siblings(network: Network) -> tuple[Org, Org, str, str]:
    a, b = network.org("dealer"), network.org("dealer")
    return a, b, make_customer(a), make_customer(b)


def test_query_without_scope_filter_sees_only_the_callers_rows(network: Network, siblings: tuple[Org, Org, str, str]) -> None:
    a, _b, mine, foreign = siblings
    url = customer_database(network)
    assert make_url(url).username == "csloop_app"
    principal = Principal("probe", a.code, f"/{network.manufacturer.code}/{a.code}/", "dealer", (), frozenset())
    seen = asyncio.run(unscoped_customer_ids(url, request_for(principal, None, internal_secret(network.suite.data_dir))))
    assert mine in seen
    assert foreign not in seen


def test_session_without_org_path_sees_nothing(network: Network, siblings: tuple[Org, Org, str, str]) -> None:
    async def count(url: str) -> tuple[int, int]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                bare = await connection.scalar(select(func.count()).select_from(Customer))
                await connection.rollback()
                await connection.execute(text("SELECT set_config('csloop.org_path', '/', true)"))
                system = await connection.scalar(select(func.count()).select_from(Customer))
                await connection.rollback()
                # After a transaction that set it, the setting reads '' on this connection: still nothing.
                after = await connection.scalar(select(func.count()).select_from(Customer))
                return bare + after, system
        finally:
            await engine.dispose()

    hidden, system = asyncio.run(count(customer_database(network)))
    assert hidden == 0
    assert system >= 2


def test_write_outside_the_callers_subtree_is_refused_by_the_database(network: Network,
                                                                      siblings: tuple[Org, Org, str, str]) -> None:
    a, b, _mine, foreign = siblings

    async def update_foreign(url: str) -> int:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("SELECT set_config('csloop.org_path', :p, true)"),
                                         {"p": f"/{network.manufacturer.code}/{a.code}/"})
                result = await connection.execute(text("UPDATE customers SET name = 'stolen' WHERE id = :id"),
                                                  {"id": uuid.UUID(foreign)})
                return result.rowcount
        finally:
            await engine.dispose()

    assert asyncio.run(update_foreign(customer_database(network))) == 0
    assert b.client.get(f"/v1/customers/{foreign}").json()["name"] == "RLS probe"
