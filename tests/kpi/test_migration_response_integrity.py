"""Migration 0011: a response recorded before survey integrity is clean, invited and recorded (it
stays in the KPIs); a downgrade drops the columns and keeps the response."""

import uuid
from datetime import UTC, datetime

import pytest

from services.kpi.app import MIGRATIONS
from shared.migrations import downgrade, upgrade
from tests.support.databases import execute_as_system, migration_database_url

AT = datetime(2031, 5, 6, 12, tzinfo=UTC)


@pytest.fixture
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migration_database_url(tmp_path_factory, "kpi_migration_0011")


async def test_responses_recorded_before_the_revision_are_clean_and_counted(url: str) -> None:
    await upgrade(url, MIGRATIONS, "0011")
    response_id = uuid.uuid4()
    ident = response_id.hex if url.startswith("sqlite") else response_id
    await execute_as_system(url, "INSERT INTO kpi_responses (response_id, org_path, kind, submitted_at, index_score, "
                                 "factors) VALUES (:id, '/M/N/A/', 'csi', :at, 80, '{}')", [{"id": ident, "at": AT}])
    await upgrade(url, MIGRATIONS, "0012")
    row = await execute_as_system(url, "SELECT integrity_status, integrity_flags, reviewed_at, invited, recorded "
                                        "FROM kpi_responses")
    status, flags, reviewed_at, invited, recorded = row[0]
    assert (status, flags in ("[]", []), reviewed_at, bool(invited), bool(recorded)) == ("clean", True, None, True, True)
    await downgrade(url, MIGRATIONS, "0011")
    assert await execute_as_system(url, "SELECT kind FROM kpi_responses") == [("csi",)]
