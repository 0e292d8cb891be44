"""Migration 0010: improvement plans and their actions, under row-level security on PostgreSQL (as
the plain role, a session acting for one dealer sees its own plans only); a downgrade drops them."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.kpi.app import MIGRATIONS
from shared.db import create_engine
from shared.migrations import downgrade, upgrade
from tests.support.databases import execute_as_system, migration_database_url

AT = datetime(2031, 5, 6, 12, tzinfo=UTC)


@pytest.fixture
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migration_database_url(tmp_path_factory, "kpi_migration_0010")


async def _visible_to(url: str, org_path: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT set_config('csloop.org_path', :path, true)"), {"path": org_path})
            return sorted(row[0] for row in await connection.execute(text("SELECT org_code FROM kpi_plans")))
    finally:
        await engine.dispose()


async def test_plans_and_actions_come_and_go_with_the_revision(url: str) -> None:
    await upgrade(url, MIGRATIONS, "head")
    plans = [{"id": uuid.uuid4(), "path": path, "code": code} for path, code in (("/M/N/A/", "A"), ("/M/N/B/", "B"))]
    for plan in plans:
        ident = plan["id"].hex if url.startswith("sqlite") else plan["id"]
        await execute_as_system(url, (
            "INSERT INTO kpi_plans (id, org_path, org_code, kpi, period, baseline, target, recheck_period, recheck_end, "
            "cause, source_kind, source_ref, status, created_by, created_at, updated_at) VALUES (:id, :path, :code, 'csi', "
            "'2031-04', 80, 85, '2031-05', :at, 'c', 'kpi_gap', 'csi', 'plan', 'u', :at, :at)"),
            [{"id": ident, "path": plan["path"], "code": plan["code"], "at": AT}])
        await execute_as_system(url, "INSERT INTO kpi_plan_actions (plan_id, position, org_path, description, owner, due) "
                                     "VALUES (:id, 0, :path, 'd', 'o', '2031-06-01')", [{"id": ident, "path": plan["path"]}])
    assert await _visible_to(url, "/M/N/") == ["A", "B"]
    if url.startswith("postgresql"):
        assert await _visible_to(url, "/M/N/A/") == ["A"]
    assert await execute_as_system(url, "SELECT count(*) FROM kpi_plan_actions") == [(2,)]
    await downgrade(url, MIGRATIONS, "0008")
    tables = ("SELECT tablename FROM pg_tables WHERE tablename LIKE 'kpi_plan%'" if url.startswith("postgresql")
              else "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'kpi_plan%'")
    assert await execute_as_system(url, tables) == []
