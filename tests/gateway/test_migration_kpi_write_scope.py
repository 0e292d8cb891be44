"""Migration 0003: holders of `kpi:read` and `orgs:admin` (keys, users, OAuth clients) are
granted `kpi:write`; nobody else is. Run from 0002 with rows in place, on SQLite or PostgreSQL."""

import json
import uuid

import pytest
from sqlalchemy import text

from gateway.identity.bootstrap import MIGRATIONS
from shared.db import create_engine, utcnow
from shared.migrations import upgrade
from tests.support.databases import unit_database_url

ADMIN = ["customers:read", "kpi:read", "orgs:admin"]
READER = ["customers:read", "kpi:read"]



@pytest.fixture
async def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "gateway_migration_0003")


async def _insert_rows(url: str) -> dict[str, dict[str, uuid.UUID]]:
    now = utcnow()
    ids = {table: {"admin": uuid.uuid4(), "reader": uuid.uuid4()} for table in ("api_keys", "users", "oauth_clients")}
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO orgs (id, code, name, kind, parent_code, region, org_path, created_at) "
                "VALUES (:id, 'MIG', 'Migration Motors', 'manufacturer', NULL, NULL, '/MIG/', :now)"),
                {"id": uuid_param(url, uuid.uuid4()), "now": now})
            for kind, scopes in (("admin", ADMIN), ("reader", READER)):
                params = {"scopes": json.dumps(scopes), "now": now, "n": kind}
                await connection.execute(text(
                    "INSERT INTO api_keys (id, key_hash, prefix, name, org_code, org_path, scopes, created_by, created_at) "
                    "VALUES (:id, :n, 'csk_x', :n, 'MIG', '/MIG/', :scopes, 'test', :now)"), {**params, "id": uuid_param(url, ids["api_keys"][kind])})
                await connection.execute(text(
                    "INSERT INTO users (id, username, password_hash, org_code, org_path, roles, scopes, disabled, created_at) "
                    "VALUES (:id, :n, 'x', 'MIG', '/MIG/', '[]', :scopes, false, :now)"), {**params, "id": uuid_param(url, ids["users"][kind])})
                await connection.execute(text(
                    "INSERT INTO oauth_clients (id, client_id, secret_hash, name, org_code, org_path, scopes, created_by, "
                    "created_at) VALUES (:id, :n, 'x', :n, 'MIG', '/MIG/', :scopes, 'test', :now)"),
                    {**params, "id": uuid_param(url, ids["oauth_clients"][kind])})
    finally:
        await engine.dispose()
    return ids


def uuid_param(url: str, value: uuid.UUID) -> object:
    # Raw SQL on the column type of each backend: CHAR(32) hex on SQLite, uuid on PostgreSQL.
    return value.hex if url.startswith("sqlite") else value


async def _scopes(url: str, table: str, row_id: uuid.UUID) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            raw = await connection.scalar(text(f"SELECT scopes FROM {table} WHERE id = :id"), {"id": uuid_param(url, row_id)})
    finally:
        await engine.dispose()
    return json.loads(raw) if isinstance(raw, str) else raw


async def test_kpi_write_goes_to_kpi_readers_who_administer_orgs_only(url: str) -> None:
    await upgrade(url, MIGRATIONS, "0002")
    ids = await _insert_rows(url)
    await upgrade(url, MIGRATIONS, "head")
    for table, rows in ids.items():
        assert await _scopes(url, table, rows["admin"]) == sorted([*ADMIN, "kpi:write"]), table
        assert await _scopes(url, table, rows["reader"]) == READER, table
