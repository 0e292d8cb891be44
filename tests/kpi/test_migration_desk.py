"""Migration 0007: follow-ups known before it are done (a legacy completion: reached) when they were
completed and open otherwise; a visit stored with its close as its open time reported none. On
PostgreSQL as the plain role, row-level security on; a downgrade gives the old tables back."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.kpi.app import MIGRATIONS
from shared.migrations import downgrade, upgrade
from tests.support.databases import execute_as_system, migration_database_url

CLOSED = datetime(2031, 5, 6, 12, tzinfo=UTC)


@pytest.fixture
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migration_database_url(tmp_path_factory, "kpi_migration_0007")


def _id(url: str, value: uuid.UUID) -> object:
    return value.hex if url.startswith("sqlite") else value


async def test_known_followups_and_visits_are_read_as_they_were_recorded(url: str) -> None:
    await upgrade(url, MIGRATIONS, "0006")
    done, open_ = uuid.uuid4(), uuid.uuid4()
    await execute_as_system(url, "INSERT INTO kpi_followups (followup_id, org_path, due_at, completed_at) VALUES (:id, '/M/D/', :due, :at)",
                   [{"id": _id(url, done), "due": CLOSED, "at": CLOSED}, {"id": _id(url, open_), "due": CLOSED, "at": None}])
    timed, untimed = uuid.uuid4(), uuid.uuid4()
    await execute_as_system(url, "INSERT INTO kpi_visits (visit_id, org_path, vin, visit_type, opened_at, closed_at, symptom_codes, "
                        "owner_verified) VALUES (:id, '/M/D/', 'LFV3A23C7K3000001', 'repair', :opened, :closed, '[]', true)",
                   [{"id": _id(url, timed), "opened": CLOSED - timedelta(hours=3), "closed": CLOSED},
                    {"id": _id(url, untimed), "opened": CLOSED, "closed": CLOSED}])
    await upgrade(url, MIGRATIONS, "head")
    followups = await execute_as_system(url, "SELECT completed_at IS NULL, status, reached, kind FROM kpi_followups")
    assert sorted((bool(is_open), status, None if reached is None else bool(reached), kind)
                  for is_open, status, reached, kind in followups) == [(False, "done", True, None), (True, "open", None, None)]
    visits = await execute_as_system(url, "SELECT opened_at < closed_at, opened_reported FROM kpi_visits")
    assert sorted((bool(timed), bool(reported)) for timed, reported in visits) == [(False, False), (True, True)]
    assert await execute_as_system(url, "SELECT count(*) FROM kpi_appointments") == [(0,)]
    await downgrade(url, MIGRATIONS, "0006")
    assert len(await execute_as_system(url, "SELECT * FROM kpi_followups")) == 2
