"""The Alembic migrations build exactly the tables the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.customer.models import Base

pytestmark = pytest.mark.asyncio
# The plumbing tables' first revision belongs to shared/ (its unnamed outbox unique constraint
# differs from the named one of shared.outbox.outbox_table by name only).
IGNORED = {"alembic_version", "outbox", "processed_events", "idempotency_keys"}


def _table_of(difference: tuple) -> str | None:
    element = difference[1]
    table = getattr(element, "table", None)
    return getattr(table if table is not None else element, "name", None)


async def test_migrated_database_matches_the_models(app) -> None:
    def diff(connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with app.state.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    differences = [d for d in differences if _table_of(d) not in IGNORED]
    assert not differences, "\n".join(map(str, differences))
