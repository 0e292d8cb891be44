"""Migration 0006: the rollup rows known before it (each holding its own path's records, by month) become
rows per org subtree, by month and by year, and a downgrade gives them back. On PostgreSQL as the
plain role, row-level security on."""


import pytest

from services.kpi.app import MIGRATIONS
from shared.migrations import downgrade, upgrade
from tests.support.databases import execute_as_system, migration_database_url

BEFORE = {  # (metric, month, path): (n, s, ss), as the recorders wrote them up to 0005
    ("csi", "2030-01", "/M/DN/D1/"): (2, 150.0, 11300.0),
    ("csi", "2030-01", "/M/DN/D2/"): (1, 60.0, 3600.0),
    ("csi", "2030-01", "/M/DN/"): (1, 90.0, 8100.0),  # a record of the distributor itself
    ("csi", "2030-02", "/M/DS/D3/"): (1, 70.0, 4900.0),
    ("nps", "2030-01", "/M/DN/D1/"): (2, 100.0, 10000.0),
}
AFTER = {
    **{key: value for key, value in BEFORE.items() if key[2].count("/") == 4},  # the dealers' rows as they were
    ("csi", "2030-01", "/M/DN/"): (4, 300.0, 23000.0),
    ("csi", "2030-01", "/M/"): (4, 300.0, 23000.0),
    ("csi", "2030-02", "/M/DS/"): (1, 70.0, 4900.0),
    ("csi", "2030-02", "/M/"): (1, 70.0, 4900.0),
    ("nps", "2030-01", "/M/DN/"): (2, 100.0, 10000.0),
    ("nps", "2030-01", "/M/"): (2, 100.0, 10000.0),
    # The year's rows: its months added up, per org.
    ("csi", "2030", "/M/DN/D1/"): (2, 150.0, 11300.0),
    ("csi", "2030", "/M/DN/D2/"): (1, 60.0, 3600.0),
    ("csi", "2030", "/M/DN/"): (4, 300.0, 23000.0),
    ("csi", "2030", "/M/DS/D3/"): (1, 70.0, 4900.0),
    ("csi", "2030", "/M/DS/"): (1, 70.0, 4900.0),
    ("csi", "2030", "/M/"): (5, 370.0, 27900.0),
    ("nps", "2030", "/M/DN/D1/"): (2, 100.0, 10000.0),
    ("nps", "2030", "/M/DN/"): (2, 100.0, 10000.0),
    ("nps", "2030", "/M/"): (2, 100.0, 10000.0),
}
FACTORS = [("csi", "2030-01", "/M/DN/D1/", "quality", 2, 150.0, 150.0, 11300.0, 11300.0, 11300.0)]


@pytest.fixture
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return migration_database_url(tmp_path_factory, "kpi_migration_0006")


async def _rollups(url: str) -> dict[tuple, tuple]:
    rows = await execute_as_system(url, "SELECT metric, month, org_path, n, s, ss FROM kpi_rollups")
    return {tuple(row[:3]): (row[3], *(round(v, 6) for v in row[4:])) for row in rows}


async def test_rollups_become_subtree_totals_and_back(url: str) -> None:
    await upgrade(url, MIGRATIONS, "0005")
    await execute_as_system(url, "INSERT INTO kpi_rollups (metric, month, org_path, n, s, ss) VALUES (:m, :mo, :p, :n, :s, :ss)",
                   [{"m": m, "mo": mo, "p": p, "n": n, "s": s, "ss": ss} for (m, mo, p), (n, s, ss) in BEFORE.items()])
    await execute_as_system(url, "INSERT INTO kpi_factor_rollups (kind, month, org_path, factor, n, sx, sy, sxx, syy, sxy) "
                        "VALUES (:k, :mo, :p, :f, :n, :sx, :sy, :sxx, :syy, :sxy)",
                   [dict(zip(("k", "mo", "p", "f", "n", "sx", "sy", "sxx", "syy", "sxy"), row, strict=True)) for row in FACTORS])
    await upgrade(url, MIGRATIONS, "head")
    assert await _rollups(url) == AFTER
    factor_rows = await execute_as_system(url, "SELECT month, org_path, n FROM kpi_factor_rollups ORDER BY month, org_path")
    assert factor_rows == [(month, path, 2) for month in ("2030", "2030-01") for path in ("/M/", "/M/DN/", "/M/DN/D1/")]
    await downgrade(url, MIGRATIONS, "0005")
    assert await _rollups(url) == BEFORE
