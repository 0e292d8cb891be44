"""The outbox, relay and idempotent consumer end to end, over real HTTP between two apps."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest
import uvicorn
from fastapi import APIRouter
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token
from shared.db import create_engine, new_metadata
from shared.events import CloudEvent, new_event
from shared.outbox import record_event
from shared.service_app import PlumbingTables, ServiceSpec, SessionDep, create_service_app, plumbing_tables
from shared.settings import CommonSettings
from tests.support.databases import drop_postgres_databases, postgres_base_url
from tests.support.suite import free_port_base

SECRET = "outbox-test-secret-of-at-least-32-bytes"


def _database_url(tmp_path: Path, name: str) -> str:
    base = postgres_base_url()
    return f"{base}_{name}" if base else f"sqlite+aiosqlite:///{tmp_path / name}.db"


async def _create_tables(url: str, metadata: MetaData) -> None:
    from shared.migrations import ensure_database

    await ensure_database(url)
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await engine.dispose()


def _producer(url: str, consumer_url: str, **transport: object) -> tuple[object, Table, PlumbingTables]:
    metadata = new_metadata()
    notes = Table("notes", metadata, Column("id", String(36), primary_key=True))
    tables = plumbing_tables(metadata)
    router = APIRouter()

    @router.post("/notes", status_code=201)
    async def create_note(session: SessionDep) -> dict[str, str]:
        note_id = str(uuid.uuid4())
        await session.execute(insert(notes).values(id=note_id))
        await record_event(session, tables.outbox, new_event("/test/producer", "note.created", note_id, {"id": note_id}))
        return {"id": note_id}

    settings = CommonSettings(service_name="producer", database_url=url, internal_secret=SECRET, relay_enabled=False,
                              event_subscriptions={"note.": [consumer_url]}, **transport)
    app = create_service_app(ServiceSpec("producer", [router], tables, Path("."), {}), settings)
    return app, notes, tables


def _consumer(url: str, **transport: object) -> tuple[object, Table]:
    metadata = new_metadata()
    # No unique key on note_id: a second application of an event would show as a second row.
    received = Table("received", metadata, Column("seq", Integer, primary_key=True, autoincrement=True),
                     Column("note_id", String(36), nullable=False))
    tables = plumbing_tables(metadata)

    async def on_note_created(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(insert(received).values(note_id=event.data["id"]))

    settings = CommonSettings(service_name=str(transport.pop("durable", "consumer")), database_url=url,
                              internal_secret=SECRET, relay_enabled=False, **transport)
    app = create_service_app(ServiceSpec("consumer", [], tables, Path("."), {"note.created": on_note_created}), settings)
    return app, received


@pytest.fixture
async def databases(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    if base := postgres_base_url():
        await drop_postgres_databases(base, ["outbox_producer", "outbox_consumer"])
    yield _database_url(tmp_path, "outbox_producer"), _database_url(tmp_path, "outbox_consumer")


async def test_a_consumer_that_was_down_gets_every_event_once_it_is_back(databases: tuple[str, str]) -> None:
    producer_url, consumer_db = databases
    port = free_port_base(1)
    consumer_url = f"http://127.0.0.1:{port}"
    producer, notes, producer_tables = _producer(producer_url, consumer_url)
    consumer, received = _consumer(consumer_db)
    await _create_tables(producer_url, notes.metadata)
    await _create_tables(consumer_db, received.metadata)
    token = mint_internal_token(Principal("t", "OEM", "/OEM/", "manufacturer", (), frozenset()), SECRET)

    async with producer.router.lifespan_context(producer):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(producer), base_url="http://producer") as client:
            for _ in range(20):
                assert (await client.post("/notes", headers={INTERNAL_HEADER: token})).status_code == 201
        relay = producer.state.relay
        await relay.relay_once()  # the consumer is down: every delivery fails and is kept
        assert await _pending(producer, producer_tables) == 20

        server = uvicorn.Server(uvicorn.Config(consumer, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.05)
            await _relay_until_sent(relay, producer, producer_tables)
            # Redeliver everything, as a relay that crashed before marking would: no effect twice.
            async with producer.state.sessions() as session, session.begin():
                deliveries = producer_tables.outbox_deliveries
                await session.execute(update(deliveries).values(sent_at=None, next_attempt_at=func.now()))
            await _relay_until_sent(relay, producer, producer_tables)
            async with consumer.state.sessions() as session:
                applied = await session.scalar(select(func.count()).select_from(received))
            assert applied == 20
        finally:
            server.should_exit = True
            await serving


async def _relay_until_sent(relay: object, producer: object, tables: PlumbingTables, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await relay.relay_once()
        pending = await _pending(producer, tables)
        if not pending:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{pending} events still pending"
        await asyncio.sleep(0.5)


async def _pending(producer: object, tables: PlumbingTables) -> int:
    """Events not handed over yet, and deliveries not made yet."""
    async with producer.state.sessions() as session:
        unsent = await session.scalar(select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None)))
        undelivered = await session.scalar(select(func.count()).select_from(tables.outbox_deliveries)
                                           .where(tables.outbox_deliveries.c.sent_at.is_(None)))
    return unsent + undelivered


async def test_over_nats_a_consumer_that_was_down_gets_every_event_once(databases: tuple[str, str]) -> None:
    """The same guarantee with JetStream as the transport, against the NATS server on this machine."""
    producer_url, consumer_db = databases
    run = uuid.uuid4().hex[:10]
    transport = {"event_transport": "nats", "nats_stream": f"TEST_{run}", "nats_subject_prefix": f"test.{run}"}
    producer, notes, producer_tables = _producer(producer_url, "unused", **transport)
    consumer, received = _consumer(consumer_db, durable=f"consumer-{run}", **transport)
    await _create_tables(producer_url, notes.metadata)
    await _create_tables(consumer_db, received.metadata)
    token = mint_internal_token(Principal("t", "OEM", "/OEM/", "manufacturer", (), frozenset()), SECRET)
    try:
        async with producer.router.lifespan_context(producer):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(producer), base_url="http://producer") as client:
                for _ in range(20):
                    assert (await client.post("/notes", headers={INTERNAL_HEADER: token})).status_code == 201
            await _relay_until_sent(producer.state.relay, producer, producer_tables)  # the consumer is not running
            event = (await _outbox_payloads(producer, producer_tables))[0]

            async with consumer.router.lifespan_context(consumer):
                await _wait_for_count(consumer, received, 20)
                # The same event again under another message id gets past JetStream's
                # de-duplication; the consumer's processed-events table still stops it.
                connection = await nats.connect("nats://127.0.0.1:4222")
                await connection.jetstream().publish(f"test.{run}.note.created", json.dumps(event).encode(),
                                                     headers={"Nats-Msg-Id": "again-" + event["id"]})
                await connection.close()
                await asyncio.sleep(1.5)
                await _wait_for_count(consumer, received, 20)
    finally:
        connection = await nats.connect("nats://127.0.0.1:4222")
        await connection.jetstream().delete_stream(f"TEST_{run}")
        await connection.close()


async def _outbox_payloads(producer: object, tables: PlumbingTables) -> list[dict]:
    async with producer.state.sessions() as session:
        return list((await session.execute(select(tables.outbox.c.payload).order_by(tables.outbox.c.seq))).scalars())


async def _wait_for_count(consumer: object, table: Table, expected: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with consumer.state.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(table))
        if count == expected:
            return
        assert count < expected, f"{count} effects for {expected} events"
        assert asyncio.get_running_loop().time() < deadline, f"only {count} of {expected} events applied"
        await asyncio.sleep(0.2)
