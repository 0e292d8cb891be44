"""A checked import batch goes to PostgreSQL's staging table in COPY's text format
(repository_bulk.staged_batch, PostgresWriter.add): every value arrives as it was, whatever
characters it holds."""

from datetime import date

import pytest
from sqlalchemy import text

from services.customer.repository_bulk import STAGE, STAGE_COLUMNS, PostgresWriter
from shared.rls import acting_for
from tests.customer.conftest import SeesAll, new_dealer

pytestmark = pytest.mark.asyncio

HOSTILE = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\.", "\\N", "\\t literally",
           "'; DROP TABLE customers; --", "名字 ünïcödé 🚗", "  spaced  ", "a\\\nb\t\\c"]


def rows(values: list[str]) -> list[tuple]:
    made = []
    for n, value in enumerate(values, start=1):
        made.append((n, f"ext-{n}-{value}", value, value if n % 2 else None, None if n % 3 else value,
                     date(1980 + n, 1 + n % 12, 1 + n) if n % 2 else None, value,
                     True if n % 3 == 0 else False if n % 3 == 1 else None, n % 2 == 0, None))
    return made


# Every hostile value at once, and each alone among plain ones (a batch is escaped only when its
# text shows it must be: each value must be caught on its own).
BATCHES = [HOSTILE, *[["plain", value, "plain too"] for value in HOSTILE]]


@pytest.mark.parametrize("values", BATCHES)
async def test_every_value_reaches_the_staging_table_as_it_was(app, values: list[str]) -> None:
    async with app.state.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("COPY is PostgreSQL's")
    dealer = new_dealer("S")
    async with app.state.sessions() as session, session.begin(), acting_for(session, dealer.path):
        writer = PostgresWriter(session, dealer, SeesAll())
        await writer.start()
        batch = writer.prepare(rows(values))
        await writer.add(batch)  # staged: a merge waits for FIRST_MERGE_ROWS rows
        stored = [tuple(row) for row in await session.execute(
            text(f"SELECT {', '.join(STAGE_COLUMNS)} FROM {STAGE} ORDER BY row_no"))]
    assert batch.rows == len(values)
    assert stored == rows(values)
