"""Test databases: PostgreSQL when CSLOOP_TEST_DATABASE_URL is set (CI), SQLite files otherwise."""

import asyncio
import os

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


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
