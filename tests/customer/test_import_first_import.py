"""A dealer's first import on PostgreSQL takes the short path (inserts only), and leaves it when
another request adds a customer to the dealer during the import."""

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.customer import repository_bulk
from services.customer.models import TABLES, Customer
from services.customer.repository_bulk import PostgresWriter
from shared.orgs import OrgInfo
from shared.rls import acting_for
from tests.customer.conftest import SeesAll, new_dealer

pytestmark = pytest.mark.asyncio


def _rows(first: int, count: int, prefix: str) -> list[tuple]:
    return [(n, f"{prefix}-{n}", f"Name {n}", f"+86139{uuid.uuid4().int % 10**8:08d}", None, None, None, True, None, None)
            for n in range(first, first + count)]


async def store_customer(session: AsyncSession, dealer: OrgInfo, external_id: str) -> None:
    """A customer of the dealer stored meanwhile (by another request, in the tests' own transaction)."""
    await session.execute(Customer.__table__.insert().values(
        id=uuid.uuid4(), dealer_code=dealer.code, org_path=dealer.path, external_id=external_id, name="Already here",
        consent_survey=False, consent_marketing=False, consent_share_with_manufacturer=False, version=1,
        created_at=func.now(), updated_at=func.now()))


async def test_a_first_import_inserts_every_row_with_its_event_and_leaves_the_short_path_when_the_dealer_gains_one(
        app, monkeypatch: pytest.MonkeyPatch) -> None:
    async with app.state.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("the PostgreSQL writer")
    monkeypatch.setattr(repository_bulk, "MERGE_ROWS", 3)
    dealer = new_dealer("F")
    code = dealer.code
    prefix = uuid.uuid4().hex[:8]
    async with app.state.sessions() as session, session.begin(), acting_for(session, dealer.path):
        writer = PostgresWriter(session, dealer, SeesAll())
        await writer.start()
        await writer.add(writer.prepare(_rows(1, 3, prefix)))  # merged: three new customers
        assert writer._first_import  # noqa: SLF001 - the path taken is the point
        # Another request adds the customer the next rows name.
        await store_customer(session, dealer, f"{prefix}-5")
        await writer.add(writer.prepare(_rows(4, 3, prefix)))
        assert not writer._first_import  # noqa: SLF001
        result = await writer.finish()
        assert (result.created, result.updated, result.rejected) == (5, 1, [])
        customers = select(func.count()).select_from(Customer).where(Customer.dealer_code == code)
        assert await session.scalar(customers) == 6
        events = (await session.execute(select(TABLES.outbox.c.type, TABLES.outbox.c.payload)
                                        .where(TABLES.outbox.c.payload["data"]["dealer_code"].as_string() == code))).all()
        assert sorted(type_ for type_, _ in events) == ["customer.created"] * 5 + ["customer.updated"]
        assert len({payload["data"]["customer_id"] for _, payload in events}) == 6
        await session.rollback()


async def test_an_import_into_a_dealer_with_customers_is_merged_once_at_the_end(
        app, monkeypatch: pytest.MonkeyPatch) -> None:
    """Merges along the way would join again the customers the import's own earlier merges wrote:
    the staged rows wait for `finish`, whatever MERGE_ROWS."""
    async with app.state.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            pytest.skip("the PostgreSQL writer")
    monkeypatch.setattr(repository_bulk, "MERGE_ROWS", 3)
    dealer = new_dealer("N")
    prefix = uuid.uuid4().hex[:8]
    async with app.state.sessions() as session, session.begin(), acting_for(session, dealer.path):
        await store_customer(session, dealer, f"{prefix}-2")
        writer = PostgresWriter(session, dealer, SeesAll())
        await writer.start()
        await writer.add(writer.prepare(_rows(1, 3, prefix)))
        await writer.add(writer.prepare(_rows(4, 3, prefix)))
        staged = await session.scalar(text(f"SELECT count(*) FROM {repository_bulk.STAGE}"))
        assert staged == 6 and await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.dealer_code == dealer.code)) == 1
        result = await writer.finish()
        assert (result.created, result.updated, result.rejected) == (5, 1, [])
        await session.rollback()
