"""Test databases: PostgreSQL when CSLOOP_TEST_DATABASE_URL is set (CI), SQLite files otherwise."""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine


def postgres_base_url() -> str | None:
    return os.environ.get("CSLOOP_TEST_DATABASE_URL") or None


async def drop_postgres_databases(base_url: str, suffixes: list[str]) -> None:
    """Drop `<db>_<suffix>` for each suffix, so a run starts from empty databases."""
    url = make_url(base_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            for suffix in suffixes:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}_{suffix}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def terminate_connections(base_url: str, suffix: str) -> int:
    """Kill every server process connected to `<db>_<suffix>` (as a crash or a restart would);
    how many were killed. For tests that a dead pooled connection is replaced, not answered 500."""
    url = make_url(base_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            return (await connection.execute(text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :database"), {"database": f"{url.database}_{suffix}"})).scalar_one()
    finally:
        await admin.dispose()


def check_postgres_reachable(base_url: str) -> None:
    """CI sets the URL and must fail, not fall back, when PostgreSQL is not there."""
    async def ping() -> None:
        engine = create_async_engine(make_url(base_url).set(database="postgres"))
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    asyncio.run(ping())


# The role the suite's processes connect as on PostgreSQL: not a superuser, so row-level
# security binds it (a superuser bypasses every policy). It owns the databases it creates.
APP_ROLE = "csloop_app"


def app_role_url(base_url: str) -> str:
    """`base_url` with the app role as its user, creating the role (NOSUPERUSER LOGIN CREATEDB) when missing."""
    async def ensure_role() -> None:
        admin = create_async_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                # DO block: two test runs may race to create it.
                await connection.execute(text(
                    f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"))
        finally:
            await admin.dispose()

    asyncio.run(ensure_role())
    return make_url(base_url).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


# The unit databases this test run has dropped already (tests/support/databases.py unit_database_url).
_DROPPED_THIS_RUN: set[str] = set()


async def unit_database_url(tmp_path_factory: Any, name: str, *, once_per_run: bool = False) -> str:
    """A service's own empty database for its in-process tests: `<base>_<name>_unit` on
    PostgreSQL (dropped first, so each caller starts empty), else a SQLite file in a temp dir.
    `once_per_run`, for a conftest's session fixture: a module that imports the fixture gets an
    instance of its own, which then shares the database rather than drop it under the first
    instance's app, whose jobs would fail (and log) until the session ends."""
    if base := postgres_base_url():
        if not (once_per_run and name in _DROPPED_THIS_RUN):
            await drop_postgres_databases(base, [f"{name}_unit"])
            _DROPPED_THIS_RUN.add(name)
        return f"{base}_{name}_unit"
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(name) / f'{name}.db'}"


async def database_with_tables(tmp_path_factory: Any, name: str, metadata: MetaData) -> str:
    """The URL of an empty unit database holding `metadata`'s tables (created, not migrated): for
    tests of the shared plumbing, which no service's migrations own."""
    from shared.db import create_engine
    from shared.migrations import ensure_database

    url = await unit_database_url(tmp_path_factory, name)
    await ensure_database(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()
    return url


@asynccontextmanager
async def sessions_on_tables(tmp_path_factory: Any, name: str,
                             metadata: MetaData) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on `database_with_tables`."""
    from shared.db import create_engine, session_factory

    engine = create_engine(await database_with_tables(tmp_path_factory, name, metadata))
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def migration_database_url(tmp_path_factory: Any, name: str) -> str:
    """An empty database for a migration test, as the services reach it: on PostgreSQL as the
    plain role (row-level security binds, as it binds a migration in production)."""
    local = asyncio.run(unit_database_url(tmp_path_factory, name))
    if not postgres_base_url():
        return local
    return make_url(app_role_url(local)).set(database=make_url(local).database).render_as_string(hide_password=False)


async def execute_as_system(url: str, statement: str, rows: list[dict] | None = None) -> list[tuple]:
    """One statement in a transaction of its own under the system org path (sees every row)."""
    from shared.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT set_config('csloop.org_path', '/', true)"))
            result = await connection.execute(text(statement), rows)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()
