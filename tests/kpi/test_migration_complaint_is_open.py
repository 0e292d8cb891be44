"""Migration 0004: complaints the KPI service knew before complaint events said `is_open` are
open exactly when their status was one of the complaint service's open states. Run from 0003
with rows in place, on SQLite or PostgreSQL."""

import uuid

import pytest
from sqlalchemy import text

from services.kpi.app import MIGRATIONS
from shared.db import create_engine, utcnow
from shared.migrations import upgrade
from tests.support.databases import unit_database_url

STATUSES = {"new": True, "acknowledged": True, "in_progress": True, "awaiting_customer": True,
            "resolved": False, "closed": False}



@pytest.fixture
async def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "kpi_migration_0004")


def _uuid(url: str, value: uuid.UUID) -> object:
    # Raw SQL on the column type of each backend: CHAR(32) hex on SQLite, uuid on PostgreSQL.
    return value.hex if url.startswith("sqlite") else value


async def test_known_cases_are_open_by_the_status_they_had(url: str) -> None:
    await upgrade(url, MIGRATIONS, "0003")
    ids = {status: uuid.uuid4() for status in STATUSES}
    now = utcnow()
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for status, complaint_id in ids.items():
                await connection.execute(text(
                    "INSERT INTO kpi_complaints (complaint_id, org_path, category, status, opened_at, first_response_due, "
                    "resolution_due, breached_first_response, breached_resolution) "
                    "VALUES (:id, '/MIG/D1/', 'other', :status, :now, :now, :now, false, false)"),
                    {"id": _uuid(url, complaint_id), "status": status, "now": now})
        await upgrade(url, MIGRATIONS, "head")
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT status, is_open FROM kpi_complaints"))).all()
    finally:
        await engine.dispose()
    assert {status: bool(is_open) for status, is_open in rows} == STATUSES
