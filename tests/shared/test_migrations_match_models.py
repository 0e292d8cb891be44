"""Each process's Alembic migrations build exactly the tables its models describe."""

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, UniqueConstraint, inspect

from shared.db import create_engine
from shared.migrations import upgrade
from tests.support.databases import unit_database_url

# (models module, migrations folder): every database of the suite.
DATABASES = {
    "gateway": ("gateway.models", "gateway/migrations"),
    "customer": ("services.customer.models", "services/customer/migrations"),
    "survey": ("services.survey.models", "services/survey/migrations"),
    "complaint": ("services.complaint.models", "services/complaint/migrations"),
    "kpi": ("services.kpi.models", "services/kpi/migrations"),
}
ROOT = Path(__file__).resolve().parents[2]


def _differences(connection, metadata: MetaData) -> list:  # noqa: ANN001 - a sync Connection
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    found = _unique_column_sets(connection)
    return [d for d in compare_metadata(context, metadata)
            if "alembic_version" not in str(d) and not _same_unique_under_another_name(d, found)]


def _same_unique_under_another_name(difference: tuple, found: set[tuple[str, tuple[str, ...]]]) -> bool:
    """A first revision's inline `unique=True` got the database's default constraint name (on
    SQLite: no name at all), not the models' naming convention; the rule itself is what counts."""
    kind, constraint = difference[0], difference[1]
    if kind not in ("add_constraint", "remove_constraint") or not isinstance(constraint, UniqueConstraint):
        return False
    return (constraint.table.name, tuple(sorted(c.name for c in constraint.columns))) in found


def _unique_column_sets(connection) -> set[tuple[str, tuple[str, ...]]]:  # noqa: ANN001
    """(table, columns) of every unique constraint or unique index the database really has."""
    found = set()
    for table in inspect(connection).get_table_names():
        if connection.dialect.name == "sqlite":  # inline UNIQUE is an automatic index SQLite names itself
            for index in connection.exec_driver_sql(f'PRAGMA index_list("{table}")').mappings():
                if index["unique"]:
                    columns = [row["name"] for row in connection.exec_driver_sql(f'PRAGMA index_info("{index["name"]}")').mappings()]
                    found.add((table, tuple(sorted(columns))))
        else:
            for unique in inspect(connection).get_unique_constraints(table):
                found.add((table, tuple(sorted(unique["column_names"]))))
    return found


@pytest.mark.parametrize("name", sorted(DATABASES))
async def test_migrated_database_matches_the_models(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    module, migrations = DATABASES[name]
    metadata = importlib.import_module(module).Base.metadata
    url = await unit_database_url(tmp_path_factory, f"{name}_migrations")
    await upgrade(url, ROOT / migrations)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences, metadata)
    finally:
        await engine.dispose()
    assert not differences, "\n".join(map(str, differences))
