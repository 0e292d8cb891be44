"""On PostgreSQL an import inserts its staged rows as new customers along the way (after
FIRST_MERGE_ROWS rows, then every MERGE_ROWS, in a savepoint) until one of them meets a stored customer; then the rows stay
staged and are matched once at the end (repository_bulk.PostgresWriter)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.customer import repository_bulk
from services.customer.models import TABLES, Customer
from services.customer.repository_bulk import ERASED, PostgresWriter
from shared.orgs import OrgInfo
from shared.rls import acting_for
from tests.customer.conftest import SeesAll, new_dealer

pytestmark = pytest.mark.asyncio


def _rows(first: int, count: int, prefix: str) -> list[tuple]:
    return [(n, f"{prefix}-{n}", f"Name {n}", _phone(), None, None, None, True, None, None)
            for n in range(first, first + count)]


def _phone() -> str:
    return f"+86139{uuid.uuid4().int % 10**8:08d}"


async def store_customer(session: AsyncSession, dealer: OrgInfo, external_id: str, *, phone: str | None = None,
                         erased: bool = False) -> None:
    """A customer of the dealer stored before the import or meanwhile (by another request, in the tests' own transaction)."""
    await session.execute(Customer.__table__.insert().values(
        id=uuid.uuid4(), dealer_code=dealer.code, org_path=dealer.path, external_id=external_id, name="Already here",
        phone=phone, consent_survey=False, consent_marketing=False, consent_share_with_manufacturer=False, version=1,
        erased_at=datetime.now(UTC) if erased else None, created_at=func.now(), updated_at=func.now()))


def merge_every(monkeypatch: pytest.MonkeyPatch, rows: int, *, first: int | None = None) -> None:
    monkeypatch.setattr(repository_bulk, "MERGE_ROWS", rows)
    monkeypatch.setattr(repository_bulk, "FIRST_MERGE_ROWS", first or rows)


@pytest.fixture
async def merging(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's writer (SQLite's writes batch by batch), trying to insert every 3 staged rows."""
    async with app.state.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("the PostgreSQL writer")
    merge_every(monkeypatch, 3)


@asynccontextmanager
async def started_writer(app, dealer: OrgInfo) -> AsyncIterator[tuple[AsyncSession, PostgresWriter]]:
    """The dealer's import writer, started in a transaction of its own that is rolled back after."""
    async with app.state.sessions() as session, session.begin(), acting_for(session, dealer.path):
        writer = PostgresWriter(session, dealer, SeesAll())
        await writer.start()
        yield session, writer
        await session.rollback()


async def _staged(session: AsyncSession) -> int:
    return await session.scalar(text(f"SELECT count(*) FROM {repository_bulk.STAGE}"))


async def _customers(session: AsyncSession, dealer: OrgInfo) -> int:
    return await session.scalar(select(func.count()).select_from(Customer).where(Customer.dealer_code == dealer.code))


async def _event_types(session: AsyncSession, dealer: OrgInfo) -> list[str]:
    outbox = TABLES.outbox
    events = (await session.execute(select(outbox.c.type, outbox.c.payload)
                                    .where(outbox.c.payload["data"]["dealer_code"].as_string() == dealer.code))).all()
    assert len({payload["data"]["customer_id"] for _, payload in events}) == len(events)  # one per customer
    return sorted(type_ for type_, _ in events)


async def test_new_customers_are_inserted_along_the_way_into_a_dealer_with_customers_the_file_does_not_name(
        app, merging, monkeypatch: pytest.MonkeyPatch) -> None:
    merge_every(monkeypatch, 4, first=2)
    dealer = new_dealer("A")
    prefix = uuid.uuid4().hex[:8]
    async with started_writer(app, dealer) as (session, writer):
        await store_customer(session, dealer, "SOMEONE-ELSE", phone=_phone())
        await writer.add(writer.prepare(_rows(1, 2, prefix)))  # FIRST_MERGE_ROWS: inserted along the way
        assert await _staged(session) == 0 and await _customers(session, dealer) == 3
        await writer.add(writer.prepare(_rows(3, 3, prefix)))
        assert await _staged(session) == 3  # fewer than MERGE_ROWS: they wait
        await writer.add(writer.prepare(_rows(6, 1, prefix)))
        assert await _staged(session) == 0 and await _customers(session, dealer) == 7
        await writer.add(writer.prepare(_rows(7, 2, prefix)))
        result = await writer.finish()
        assert (result.created, result.updated, result.unchanged, result.rejected) == (8, 0, 0, [])
        assert await _customers(session, dealer) == 9
        assert await _event_types(session, dealer) == ["customer.created"] * 8


async def test_a_row_naming_a_customer_stored_meanwhile_undoes_its_attempt_and_the_rest_is_matched_at_the_end(
        app, merging) -> None:
    dealer = new_dealer("F")
    prefix = uuid.uuid4().hex[:8]
    async with started_writer(app, dealer) as (session, writer):
        await writer.add(writer.prepare(_rows(1, 3, prefix)))  # inserted: three new customers
        # Another request adds the customer the next rows name: the attempt to insert them fails on
        # the unique index and is undone (its two other customers and their events too).
        await store_customer(session, dealer, f"{prefix}-5")
        await writer.add(writer.prepare(_rows(4, 3, prefix)))
        assert await _staged(session) == 3 and await _customers(session, dealer) == 4
        await writer.add(writer.prepare(_rows(7, 3, prefix)))
        assert await _staged(session) == 6  # no more attempts: the rows wait for the match at the end
        result = await writer.finish()
        assert (result.created, result.updated, result.rejected) == (8, 1, [])
        assert await _customers(session, dealer) == 9
        assert await _event_types(session, dealer) == ["customer.created"] * 8 + ["customer.updated"]


async def test_an_import_of_known_customers_is_matched_once_at_the_end(app, merging) -> None:
    """Matching along the way would join again the customers the import's own earlier merges
    wrote: once a row has met a stored customer, the staged rows wait for `finish`."""
    dealer = new_dealer("N")
    prefix = uuid.uuid4().hex[:8]
    async with started_writer(app, dealer) as (session, writer):
        await store_customer(session, dealer, f"{prefix}-2")
        await writer.add(writer.prepare(_rows(1, 3, prefix)))
        await writer.add(writer.prepare(_rows(4, 3, prefix)))
        assert await _staged(session) == 6 and await _customers(session, dealer) == 1
        result = await writer.finish()
        assert (result.created, result.updated, result.unchanged, result.rejected) == (5, 1, 0, [])
        assert await _event_types(session, dealer) == ["customer.created"] * 5 + ["customer.updated"]


async def test_an_erased_customers_id_and_another_customers_phone_are_rejected_whichever_batch_names_them(
        app, merging) -> None:
    dealer = new_dealer("R")
    prefix = uuid.uuid4().hex[:8]
    taken = _phone()
    async with started_writer(app, dealer) as (session, writer):
        await store_customer(session, dealer, f"{prefix}-2", erased=True)
        await store_customer(session, dealer, "OWNER", phone=taken)
        rows = _rows(1, 6, prefix)
        rows[4] = (*rows[4][:3], taken, *rows[4][4:])  # row 5 brings the phone of OWNER
        await writer.add(writer.prepare(rows[:3]))
        await writer.add(writer.prepare(rows[3:]))
        result = await writer.finish()
        assert (result.created, result.updated) == (4, 0)
        erased, phone = sorted(result.rejected)
        assert (erased, phone[:2]) == ((2, "external_id", ERASED), (5, "phone"))
        assert await _customers(session, dealer) == 6
        assert await _event_types(session, dealer) == ["customer.created"] * 4


async def test_the_attempts_leave_no_prepared_statement_per_savepoint(app, merging) -> None:
    """The session's savepoints are named anew each time (sa_savepoint_N), and the driver prepares
    and keeps each: kept from the middle of an import, they held on to memory the import's rows
    had filled. The writer's savepoint is one name, sent unprepared."""
    dealer = new_dealer("P")
    prefix = uuid.uuid4().hex[:8]
    savepoints = text("SELECT count(*) FROM pg_prepared_statements WHERE statement ILIKE '%savepoint%'")
    async with started_writer(app, dealer) as (session, writer):
        before = await session.scalar(savepoints)  # the pooled connection's, from other requests
        for first in range(1, 13, 3):
            await writer.add(writer.prepare(_rows(first, 3, prefix)))
        assert (await writer.finish()).created == 12
        assert await session.scalar(savepoints) == before
