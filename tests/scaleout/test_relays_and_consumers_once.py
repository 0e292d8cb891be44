"""Relays and consumers shared by replicas (issue 19 item 3): each event delivered, its effect once.

Two relays of one service (two processes' relays: each its own engine) drain one outbox on one
PostgreSQL database: over HTTP to subscribers served by real local HTTP servers, and over NATS
JetStream to a service whose two replicas pull the same durable consumer (one at a time, as the
services do, holding its lease; or both at once). Each subscriber applies
events through `shared.consumer.EventConsumer` on a database of its own, its effect a row per
application (no unique key: a second application would show as a second row).
"""

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.identity.bootstrap import MIGRATIONS as GATEWAY_MIGRATIONS
from gateway.identity.bootstrap import bootstrap
from gateway.integrations.webhooks.dispatcher import Dispatcher
from gateway.settings import GatewaySettings
from shared.consumer import EventConsumer, processed_events_table
from shared.db import HeldLease, create_engine, new_metadata, session_factory
from shared.events import CloudEvent, new_event
from shared.migrations import upgrade
from shared.nats_transport import NatsEventSubscriber, NatsTransport
from shared.outbox import HttpTransport, OutboxRelay, record_event
from shared.service_app import plumbing_tables
from tests.gateway.conftest import ALL_SCOPES_BUT_ADMIN, OrgTree, running_gateway, unique_code
from tests.gateway.integrations.conftest import org_event
from tests.gateway.integrations.conftest import publish as publish_to_gateway
from tests.gateway.integrations.receiver import start_receiver
from tests.gateway.integrations.test_webhooks import subscribe
from tests.scaleout.replicas import REPLICAS, once
from tests.support.databases import database_with_tables, postgres_base_url, unit_database_url
from tests.support.suite import delete_nats_stream, free_port_base

pytestmark = pytest.mark.skipif(not postgres_base_url(),
                                reason="replicas share a PostgreSQL database (SQLite serves one process)")

SECRET = "scaleout-relay-test-secret-of-32-bytes!!"
NATS_URL = "nats://127.0.0.1:4222"
PRODUCER = new_metadata()
OUTBOX = plumbing_tables(PRODUCER)
BATCH = 20  # small batches, so the two relays' claims interleave
DEADLINE_SECONDS = 20.0


@dataclass(frozen=True)
class ConsumerTables:
    metadata: MetaData
    processed: Table
    effects: Table


def consumer_tables() -> ConsumerTables:
    metadata = new_metadata()
    effects = Table("effects", metadata, Column("seq", Integer, primary_key=True, autoincrement=True),
                    Column("event_id", String(64), nullable=False), Column("replica", String(20), nullable=False))
    return ConsumerTables(metadata, processed_events_table(metadata), effects)


@asynccontextmanager
async def engines(url: str, count: int = REPLICAS) -> AsyncIterator[list[AsyncEngine]]:
    """One engine (one pool) per replica, as each process has its own."""
    made = [create_engine(url) for _ in range(count)]
    try:
        yield made
    finally:
        for engine in made:
            await engine.dispose()


def applying(tables: ConsumerTables, sessions: async_sessionmaker[AsyncSession], replica: str,
             before: Callable[[CloudEvent], Awaitable[None]] | None = None) -> EventConsumer:
    """An EventConsumer of `note.created` whose effect is a row naming the replica that applied it."""
    async def on_note(session: AsyncSession, event: CloudEvent) -> None:
        if before is not None:
            await before(event)
        await session.execute(insert(tables.effects).values(event_id=event.id, replica=replica))

    return EventConsumer(sessions, tables.processed, {"note.created": on_note})


async def publish(sessions: async_sessionmaker[AsyncSession], count: int) -> list[str]:
    events = [new_event("/test/producer", "note.created", None, {"n": n}) for n in range(count)]
    async with sessions() as session, session.begin():
        for event in events:
            await record_event(session, OUTBOX.outbox, event)
    return [event.id for event in events]


async def pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Events not handed over yet, and deliveries not made yet."""
    async with sessions() as session:
        unsent = await session.scalar(select(func.count()).select_from(OUTBOX.outbox).where(OUTBOX.outbox.c.sent_at.is_(None)))
        undelivered = await session.scalar(select(func.count()).select_from(OUTBOX.outbox_deliveries)
                                           .where(OUTBOX.outbox_deliveries.c.sent_at.is_(None)))
    return unsent + undelivered


async def effects(sessions: async_sessionmaker[AsyncSession], tables: ConsumerTables) -> list[tuple[str, str]]:
    async with sessions() as session:
        return [tuple(row) for row in await session.execute(select(tables.effects.c.event_id, tables.effects.c.replica))]


async def until(condition: Callable[[], Awaitable[bool]], what: str, between: Callable[[], Awaitable[Any]] | None = None,
                timeout: float = DEADLINE_SECONDS) -> None:
    """Await `condition` (running `between` before each look, e.g. the relays' passes), up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if between is not None:
            await between()
        if await condition():
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def passes_of(relays: list[OutboxRelay]) -> Callable[[], Awaitable[Any]]:
    """Every relay's pass at once, as the replicas' relays run theirs."""
    async def run() -> Any:
        return await asyncio.gather(*(relay.relay_once() for relay in relays))
    return run


# --- HTTP: two relays, two subscribers on real local HTTP servers ---------------------------------


@dataclass
class Subscriber:
    """A subscriber's `/internal/events` served over HTTP: counts the events each relay POSTs to it
    by id, and applies them through its EventConsumer, as `shared.consumer`'s router does; or
    refuses them while `down`. `lose_next_answer`: the next batch is applied, but the relay gets
    a 502 (the answer lost on the way back), so it sends that batch again."""

    consumer: EventConsumer
    down: bool = False
    lose_next_answer: bool = False
    posted: Counter[str] = field(default_factory=Counter)
    posted_by: Counter[str] = field(default_factory=Counter)
    lost: set[str] = field(default_factory=set)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/internal/events")
        async def receive(request: Request) -> Response:
            if self.down:
                return Response(status_code=503)
            events = [CloudEvent.model_validate(event) for event in json.loads(await request.body())]
            self.posted.update(event.id for event in events)
            self.posted_by[request.headers["X-Test-Relay"]] += len(events)
            await self.consumer.handle_batch(events)
            if self.lose_next_answer:
                self.lose_next_answer = False
                self.lost = {event.id for event in events}
                return Response(status_code=502)
            return Response(content=b"{}", media_type="application/json")

        return app


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a real local HTTP server; yields its base URL."""
    port = free_port_base(1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        assert not task.done(), "the subscriber's server did not start"
        return server.started

    try:
        await until(started, "the subscriber's server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_two_relays_deliver_every_event_to_each_http_subscriber_and_its_effect_is_applied_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    kpi_tables, survey_tables = consumer_tables(), consumer_tables()
    producer_url = await database_with_tables(tmp_path_factory, "scaleout_http_producer", PRODUCER)
    kpi_url = await database_with_tables(tmp_path_factory, "scaleout_http_kpi", kpi_tables.metadata)
    survey_url = await database_with_tables(tmp_path_factory, "scaleout_http_survey", survey_tables.metadata)
    async with engines(producer_url) as producer, engines(kpi_url, 1) as (kpi_engine,), \
            engines(survey_url, 1) as (survey_engine,), AsyncExitStack() as stack:
        kpi_sessions, survey_sessions = session_factory(kpi_engine), session_factory(survey_engine)
        kpi = Subscriber(applying(kpi_tables, kpi_sessions, "kpi"), lose_next_answer=True)
        survey = Subscriber(applying(survey_tables, survey_sessions, "survey"), down=True)
        urls = [await stack.enter_async_context(serving(subscriber.app())) for subscriber in (kpi, survey)]
        relays = []
        for n, engine in enumerate(producer):
            client = httpx.AsyncClient(headers={"X-Test-Relay": f"relay-{n}"}, timeout=httpx.Timeout(30.0, connect=2.0))
            relays.append(OutboxRelay(session_factory(engine), OUTBOX.outbox, OUTBOX.outbox_deliveries,
                                      HttpTransport({"note.": urls}, SECRET, client), batch_size=BATCH))
            stack.push_async_callback(relays[-1].stop)
        producer_sessions = session_factory(producer[0])
        ids = await publish(producer_sessions, 10 * BATCH)

        async def kpi_has_all() -> bool:
            return len(await effects(kpi_sessions, kpi_tables)) >= len(ids)

        # The survey service is down: the KPI service gets every event all the same.
        await until(kpi_has_all, "the KPI service's effects", between=passes_of(relays))
        assert await effects(survey_sessions, survey_tables) == []
        async with producer_sessions() as session:  # the survey service's deliveries, kept
            kept = await session.scalar(select(func.count()).select_from(OUTBOX.outbox_deliveries).where(
                OUTBOX.outbox_deliveries.c.subscriber == urls[1], OUTBOX.outbox_deliveries.c.sent_at.is_(None)))
        assert kept == len(ids)

        # It is back: its deliveries are retried (as if their backoff and the relays' rest had run out).
        survey.down = False
        for relay in relays:
            relay._resting_until.clear()  # noqa: SLF001 - time passing, without waiting for it
        async with producer_sessions() as session, session.begin():
            await session.execute(update(OUTBOX.outbox_deliveries).where(OUTBOX.outbox_deliveries.c.sent_at.is_(None))
                                  .values(next_attempt_at=func.now()))

        async def all_delivered() -> bool:
            return await pending(producer_sessions) == 0

        await until(all_delivered, "every delivery", between=passes_of(relays))
        applied_by_kpi = await effects(kpi_sessions, kpi_tables)
        applied_by_survey = await effects(survey_sessions, survey_tables)

    assert Counter(event_id for event_id, _ in applied_by_kpi) == once(ids)
    assert Counter(event_id for event_id, _ in applied_by_survey) == once(ids)
    # Each event POSTed to each subscriber at least once; twice only where an answer was lost (the
    # batch sent again, a duplicate to the consumer): the relays' claims never overlapped.
    assert set(kpi.posted) == set(survey.posted) == set(ids)
    assert kpi.lost and kpi.posted == once(ids) + once(kpi.lost)
    assert survey.posted == once(ids)
    # Both relays carried a share to each subscriber.
    assert set(kpi.posted_by) == set(survey.posted_by) == {"relay-0", "relay-1"}


# --- NATS: two relays publish, two replicas of a service pull one durable consumer ----------------


@dataclass
class Replica:
    """One replica of the consuming service: its engine, its EventConsumer, its NATS subscriber.
    `stuck` makes its handler stop forever in the middle of a batch (its transaction open, the
    batch fetched and unacknowledged), as a process frozen or killed there."""

    name: str
    tables: ConsumerTables
    sessions: async_sessionmaker[AsyncSession]
    stream: str
    prefix: str
    stuck: bool = False
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    held: set[str] = field(default_factory=set)  # the events it was applying when it stuck
    lease: HeldLease | None = None  # the service's consumer lease, as shared.service_app gives it
    subscriber: NatsEventSubscriber | None = None

    async def _maybe_stuck(self, event: CloudEvent) -> None:
        if self.stuck:
            self.held.add(event.id)
            self.holding.set()
            await asyncio.Event().wait()

    def start(self) -> None:
        consumer = applying(self.tables, self.sessions, self.name, before=self._maybe_stuck)
        self.subscriber = NatsEventSubscriber(consumer, NATS_URL, self.stream, self.prefix, durable="kpi", lease=self.lease)
        self.subscriber.start()

    async def stop(self) -> None:
        """Cancel its task and close its connection: what it fetched and did not acknowledge stays unacknowledged."""
        assert self.subscriber is not None
        await self.subscriber.stop()

    async def die(self, other: async_sessionmaker[AsyncSession]) -> None:
        """As kill -9 ends a process: its pulling stops, then its connections go, the database's
        (the lease's; cut from `other`'s session, the only advisory lock on this database) before
        NATS's (the unlock its stop then tries fails)."""
        assert self.subscriber is not None and self.subscriber._task is not None
        self.subscriber._task.cancel()
        async with other() as session:
            await session.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))
        await self.subscriber.stop()


async def stream_and_databases(tmp_path_factory: pytest.TempPathFactory,
                               label: str) -> tuple[str, str, ConsumerTables, str, str]:
    """A stream and subject prefix of this run's own, the consumer's tables, and the producer's and
    the consumer's databases (their URLs)."""
    run = uuid.uuid4().hex[:10]
    tables = consumer_tables()
    producer_url = await database_with_tables(tmp_path_factory, f"scaleout_nats_{label}_producer", PRODUCER)
    consumer_url = await database_with_tables(tmp_path_factory, f"scaleout_nats_{label}_kpi", tables.metadata)
    return f"{label.upper()}_{run}", f"{label}.{run}", tables, producer_url, consumer_url


async def test_two_replicas_on_one_durable_consumer_apply_each_event_once_and_one_takes_over_the_others(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    stream, prefix, tables, producer_url, consumer_url = await stream_and_databases(tmp_path_factory, "once")
    connection = await nats.connect(NATS_URL)
    jetstream = connection.jetstream()
    # The stream as the transport makes it, and the service's durable consumer made first with a
    # short acknowledgement wait: a replica's unacknowledged messages go to another in 2 s, not 30.
    await jetstream.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.>"], duplicate_window=120.0))
    await jetstream.add_consumer(stream, ConsumerConfig(durable_name="kpi", ack_policy=AckPolicy.EXPLICIT, ack_wait=2.0,
                                                        filter_subject=f"{prefix}.>"))
    try:
        async with engines(producer_url) as producer, engines(consumer_url) as consumers, AsyncExitStack() as stack:
            relays = []
            for engine in producer:
                relays.append(OutboxRelay(session_factory(engine), OUTBOX.outbox, OUTBOX.outbox_deliveries,
                                          NatsTransport(NATS_URL, stream, prefix), batch_size=BATCH))
                stack.push_async_callback(relays[-1].stop)
            producer_sessions = session_factory(producer[0])
            a, b = (Replica(name, tables, session_factory(engine), stream, prefix)
                    for name, engine in zip(("a", "b"), consumers, strict=True))
            consumer_sessions = a.sessions

            async def published() -> bool:
                return await pending(producer_sessions) == 0

            def applied(count: int) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return len(await effects(consumer_sessions, tables)) >= count
                return check

            # Both replicas pulling; two relays publishing.
            a.start()
            b.start()
            stack.push_async_callback(a.stop)
            stack.push_async_callback(b.stop)
            first = await publish(producer_sessions, 2 * BATCH)
            await until(published, "the first events published", between=passes_of(relays))
            await until(applied(len(first)), "the first events applied")

            # Replica b goes; a freezes in the middle of its next batch and is killed there, its
            # batch unacknowledged; b, started again, takes over a's batch when it is redelivered.
            await b.stop()
            a.stuck = True
            later = await publish(producer_sessions, 3 * BATCH // 2)
            await until(published, "the later events published", between=passes_of(relays))
            await asyncio.wait_for(a.holding.wait(), DEADLINE_SECONDS)
            b.start()
            await a.stop()
            await until(applied(len(first) + len(later)), "the later events applied")

            async def all_acknowledged() -> bool:
                info = await jetstream.consumer_info(stream, "kpi")
                return info.num_ack_pending == 0 and info.num_pending == 0

            await until(all_acknowledged, "every message acknowledged")
            stored = (await jetstream.stream_info(stream)).state.messages
            applied_effects = await effects(consumer_sessions, tables)
            async with consumer_sessions() as session:
                processed = set((await session.scalars(select(tables.processed.c.event_id))).all())
    finally:
        await connection.close()
        await delete_nats_stream(stream)

    ids = first + later
    assert stored == len(ids)  # each event published once, by one of the two relays
    assert Counter(event_id for event_id, _ in applied_effects) == once(ids)
    assert processed == set(ids)
    # b applied what a held, unacknowledged, when it was killed: redelivered to b.
    assert a.held and a.held <= {event_id for event_id, replica in applied_effects if replica == "b"}
    assert {event_id for event_id, replica in applied_effects if replica == "a"}.isdisjoint(later)


async def test_replicas_holding_the_consumer_lease_pull_one_at_a_time_and_another_takes_over_when_the_puller_dies(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """As the services run: each replica's subscriber pulls only while it holds the service's
    consumer lease (shared.service_app.nats_subscriber). Every event of a first series is applied
    by one replica; when that replica dies (its task gone, its connection to the database cut
    as a killed process's is) the other takes the pull over and applies the next series, each
    event once."""
    stream, prefix, tables, producer_url, consumer_url = await stream_and_databases(tmp_path_factory, "leased")
    connection = await nats.connect(NATS_URL)
    jetstream = connection.jetstream()
    await jetstream.add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.>"], duplicate_window=120.0))
    try:
        async with engines(producer_url, 1) as producer, engines(consumer_url) as consumers:
            relay = OutboxRelay(session_factory(producer[0]), OUTBOX.outbox, OUTBOX.outbox_deliveries,
                                NatsTransport(NATS_URL, stream, prefix), batch_size=BATCH)
            producer_sessions = session_factory(producer[0])
            a, b = (Replica(name, tables, session_factory(engine), stream, prefix,
                            lease=HeldLease(engine, "nats-consumer.kpi", retry_seconds=0.2))
                    for name, engine in zip(("a", "b"), consumers, strict=True))

            async def published() -> bool:
                return await pending(producer_sessions) == 0

            def applied(count: int) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return len(await effects(a.sessions, tables)) >= count
                return check

            a.start()
            b.start()
            try:
                first = await publish(producer_sessions, 3 * BATCH)
                await until(published, "the first events published", between=relay.relay_once)
                await until(applied(len(first)), "the first events applied")
                pullers = {replica for _, replica in await effects(a.sessions, tables)}
                assert len(pullers) == 1, f"both replicas pulled: {pullers}"
                puller, standby = (a, b) if pullers == {"a"} else (b, a)

                await puller.die(standby.sessions)
                later = await publish(producer_sessions, 2 * BATCH)
                await until(published, "the later events published", between=relay.relay_once)
                await until(applied(len(first) + len(later)), "the later events applied by the standby")
                applied_effects = await effects(a.sessions, tables)
            finally:
                await a.stop()
                await b.stop()
                await relay.stop()
    finally:
        await connection.close()
        await delete_nats_stream(stream)

    assert Counter(event_id for event_id, _ in applied_effects) == once(first + later)
    assert {replica for event_id, replica in applied_effects if event_id in set(later)} == {standby.name}


# --- webhooks: two gateways' dispatchers sending one queue ----------------------------------------


async def test_two_gateways_dispatchers_send_each_webhook_delivery_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The gateway's webhook queue is claimed as the outbox is (SKIP LOCKED and a lease): two
    replicas' dispatchers, each on its own engine, passing at once, POST each delivery once, and
    the one its receiver refused once more, when its retry falls due."""
    url = await unit_database_url(tmp_path_factory, "scaleout_webhooks")
    await upgrade(url, GATEWAY_MIGRATIONS)
    settings = GatewaySettings(database_url=url, log_json=False, log_level="WARNING", webhooks_allow_private_targets=True,
                               webhooks_retry_schedule_seconds=[0.3, 0.6, 1.2], webhooks_dispatcher_enabled=False,
                               webhooks_batch_size=BATCH)
    receiver, runner = await start_receiver()
    try:
        async with running_gateway(settings) as client, engines(url) as gateway_engines:
            root = unique_code("M")
            credentials = await bootstrap(url, root, "Test Motors")
            net = OrgTree(client, root, credentials["api_key"])
            await net.add_org("d1", "distributor", "root")
            await net.add_org("dlr11", "dealer", "d1")
            net.admin_keys["dlr11"] = await net.key_for("dlr11", ["orgs:admin", "webhooks:admin", *ALL_SCOPES_BUT_ADMIN])
            where = f"/dms/{uuid.uuid4().hex}"
            await subscribe(net, "dlr11", receiver.answer(where, 503))  # the first request refused, then 204
            events = [org_event(net, "d1", "dlr11") for _ in range(4 * BATCH)]
            await publish_to_gateway(client, settings, *events)

            dispatchers = [Dispatcher(session_factory(engine), settings) for engine in gateway_engines]
            for dispatcher in dispatchers:
                await dispatcher.open()
            try:
                async def every_delivery_answered() -> bool:
                    return len({request.headers["webhook-id"] for request in receiver.at(where)}) == len(events) and \
                        len(receiver.at(where)) == len(events) + 1

                async def passes() -> Any:
                    return await asyncio.gather(*(dispatcher.dispatch_once() for dispatcher in dispatchers))

                await until(every_delivery_answered, "every webhook delivery", between=passes)
                await passes()  # and once more: nothing is due any more
            finally:
                for dispatcher in dispatchers:
                    await dispatcher.close()
    finally:
        await runner.cleanup()
    sent = Counter(request.headers["webhook-id"] for request in receiver.at(where))
    assert sorted(sent.values()) == [1] * (len(events) - 1) + [2]
    assert {json.loads(request.body)["id"] for request in receiver.at(where)} == {event.id for event in events}
