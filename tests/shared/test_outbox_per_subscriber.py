"""Delivery state per (event, subscriber): one subscriber down delays only its own deliveries."""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import create_engine, new_metadata, session_factory, utcnow
from shared.events import new_event
from shared.outbox import SLOW_RETRY_SECONDS, TIMED_OUT, HttpTransport, OutboxRelay, record_event
from shared.service_app import PlumbingTables, plumbing_tables
from tests.support.databases import sessions_on_tables

SECRET = "per-subscriber-test-secret-of-32-bytes!"
KPI, SURVEY = "http://kpi.test", "http://survey.test"
METADATA = new_metadata()
TABLES = plumbing_tables(METADATA)


@dataclass
class Subscribers:
    """Stands in for the subscribers' `/internal/events`: records what each got, refuses for the down ones."""

    down: set[str] = field(default_factory=set)
    hung: set[str] = field(default_factory=set)  # accept the request, never answer
    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    delay_seconds: float = 0.0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        base = f"{request.url.scheme}://{request.url.host}"
        if base in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if base in self.hung:
            await asyncio.sleep(3600)
        await asyncio.sleep(self.delay_seconds)
        for event in json.loads(request.content):
            self.received[(base, event["id"])] += 1
        return httpx.Response(200, json={"outcomes": {}})

    def got(self, base: str) -> set[str]:
        return {event_id for (to, event_id) in self.received if to == base}


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "per_subscriber", METADATA) as made:
        yield made


def _relay(sessions: async_sessionmaker[AsyncSession], subscribers: Subscribers, batch_size: int = 200) -> OutboxRelay:
    transport = HttpTransport({"note.": [KPI, SURVEY]}, SECRET, httpx.AsyncClient(transport=httpx.MockTransport(subscribers)))
    return OutboxRelay(sessions, TABLES.outbox, TABLES.outbox_deliveries, transport, batch_size=batch_size)


async def _publish(sessions: async_sessionmaker[AsyncSession], count: int) -> set[str]:
    events = [new_event("/test", "note.created", None, {"n": n}) for n in range(count)]
    async with sessions() as session, session.begin():
        for event in events:
            await record_event(session, TABLES.outbox, event)
    return {event.id for event in events}


async def _make_due(sessions: async_sessionmaker[AsyncSession], tables: PlumbingTables, relay: OutboxRelay) -> None:
    """As if every backoff had run out, the deliveries' and the relay's rest for a refusing subscriber."""
    relay._resting_until.clear()  # noqa: SLF001 - time passing, without waiting for it
    async with sessions() as session, session.begin():
        await session.execute(update(tables.outbox_deliveries).where(tables.outbox_deliveries.c.sent_at.is_(None))
                              .values(next_attempt_at=func.now()))


async def test_one_subscriber_refusing_does_not_hold_the_others_batch(sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers(down={KPI})
    ids = await _publish(sessions, 10)
    await _relay(sessions, subscribers).relay_once()
    assert subscribers.got(SURVEY) == ids
    assert subscribers.got(KPI) == set()
    async with sessions() as session:
        pending = (await session.execute(
            select(TABLES.outbox_deliveries.c.subscriber, TABLES.outbox_deliveries.c.attempts)
            .where(TABLES.outbox_deliveries.c.sent_at.is_(None)))).all()
    assert sorted(set(pending)) == [(KPI, 1)] and len(pending) == 10


async def test_a_retry_later_delivers_to_the_refusing_subscriber_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers(down={KPI})
    relay = _relay(sessions, subscribers)
    ids = await _publish(sessions, 10)
    await relay.relay_once()
    assert await relay.relay_once() == 0  # the refused deliveries wait out their backoff
    later = await _publish(sessions, 2)
    assert await relay.relay_once() == 2  # new events: the survey service gets them, the kpi one rests
    assert subscribers.got(KPI) == set()
    subscribers.down.clear()
    await _make_due(sessions, TABLES, relay)
    assert await relay.relay_once() == 12
    assert subscribers.got(KPI) == ids | later
    assert set(subscribers.received.values()) == {1}  # the survey service got nothing twice


async def test_new_events_reach_a_healthy_subscriber_while_another_backs_off(sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers(down={KPI})
    relay = _relay(sessions, subscribers)
    first = await _publish(sessions, 3)
    await relay.relay_once()
    later = await _publish(sessions, 3)
    await relay.relay_once()
    assert subscribers.got(SURVEY) == first | later


async def test_a_subscriber_back_with_a_long_backlog_does_not_crowd_out_the_others(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers(down={KPI})
    relay = _relay(sessions, subscribers, batch_size=10)
    await _publish(sessions, 50)
    while await relay.relay_once():
        pass
    subscribers.down.clear()
    await _make_due(sessions, TABLES, relay)
    fresh = await _publish(sessions, 5)
    await relay.relay_once()
    assert fresh <= subscribers.got(SURVEY)
    assert len(subscribers.got(KPI)) == 10  # a batch of its backlog: the rest in the next passes


async def test_a_subscriber_that_hangs_holds_up_no_other(sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers(hung={KPI})
    relay = _relay(sessions, subscribers)
    try:
        first = await _publish(sessions, 3)
        started = asyncio.get_running_loop().time()
        await relay.relay_once()
        later = await _publish(sessions, 3)
        assert await relay.relay_once() == 3  # the survey's three: the kpi's stay with the send in flight
        assert asyncio.get_running_loop().time() - started < 1.0
        assert subscribers.got(SURVEY) == first | later
    finally:
        await relay.stop()


async def test_two_relays_claiming_at_once_never_send_a_delivery_twice(
        sessions: async_sessionmaker[AsyncSession], tmp_path_factory: pytest.TempPathFactory) -> None:
    subscribers = Subscribers(delay_seconds=0.02)
    ids = await _publish(sessions, 300)
    # Two replicas: each its own engine (connection pool) on the same database.
    other_engine = create_engine(sessions.kw["bind"].url.render_as_string(hide_password=False))
    relays = [_relay(sessions, subscribers, batch_size=20), _relay(session_factory(other_engine), subscribers, batch_size=20)]

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(200):
            if not await relay.relay_once() and len(subscribers.received) == 2 * len(ids):
                return
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(drain(relay) for relay in relays))
    finally:
        await other_engine.dispose()
    assert subscribers.got(KPI) == ids and subscribers.got(SURVEY) == ids
    assert set(subscribers.received.values()) == {1}


async def _delivery_rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int, bool]]:
    deliveries = TABLES.outbox_deliveries
    async with sessions() as session:
        return [tuple(row) for row in await session.execute(
            select(deliveries.c.subscriber, deliveries.c.attempts, deliveries.c.sent_at.is_not(None)))]


async def test_when_every_subscriber_answers_no_delivery_row_is_written(sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers()
    ids = await _publish(sessions, 30)
    requests = Counter()
    relay = _relay(sessions, subscribers)
    original = relay._transport._post  # noqa: SLF001 - counting the POSTs

    async def post(base_url: str, body: bytes) -> None:
        requests[base_url] += 1
        await original(base_url, body)

    relay._transport._post = post  # noqa: SLF001
    assert await relay.relay_once() == 30
    assert subscribers.got(KPI) == ids and subscribers.got(SURVEY) == ids
    assert requests == {KPI: 1, SURVEY: 1}  # one POST per subscriber per batch
    assert await _delivery_rows(sessions) == []
    async with sessions() as session:
        unsent = await session.scalar(select(func.count()).select_from(TABLES.outbox).where(TABLES.outbox.c.sent_at.is_(None)))
    assert unsent == 0


async def test_a_relay_that_died_after_sending_sends_its_batch_again_when_the_lease_ends(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribers = Subscribers()
    ids = await _publish(sessions, 5)
    dying = _relay(sessions, subscribers)

    async def die(*_args: object) -> None:
        raise RuntimeError("killed between sending and settling")

    dying._hand_over = die  # noqa: SLF001 - the crash, at the worst moment
    with pytest.raises(RuntimeError):
        await dying.relay_once()
    assert subscribers.got(SURVEY) == ids
    other = _relay(sessions, subscribers)
    assert await other.relay_once() == 0  # still leased to the dead relay
    async with sessions() as session, session.begin():  # the lease runs out
        await session.execute(update(TABLES.outbox).values(next_attempt_at=func.now()))
    assert await other.relay_once() == 5
    assert set(subscribers.received.values()) == {2}  # at least once: the consumer tells the repeat
    assert await _delivery_rows(sessions) == []


async def test_a_slow_subscriber_is_retried_soon_in_smaller_shares_not_rested(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    """A consumer slower than the timeout is alive: no backoff growing to minutes."""
    subscribers = Subscribers()
    slow = {"on": True}

    async def answer(request: httpx.Request) -> httpx.Response:
        if slow["on"] and request.url.host == "kpi.test":
            raise httpx.ReadTimeout("no answer in time", request=request)
        return await subscribers(request)

    transport = HttpTransport({"note.": [KPI, SURVEY]}, SECRET, httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    relay = OutboxRelay(sessions, TABLES.outbox, TABLES.outbox_deliveries, transport, batch_size=40)
    ids = await _publish(sessions, 40)
    await relay.relay_once()
    assert subscribers.got(SURVEY) == ids
    assert not relay._resting_until  # noqa: SLF001 - not rested like a refusing subscriber
    deliveries = TABLES.outbox_deliveries
    async with sessions() as session:
        waits = (await session.execute(select(deliveries.c.next_attempt_at, deliveries.c.last_error))).all()
    assert len(waits) == 40 and all(TIMED_OUT in error for _, error in waits)
    assert max(due for due, _ in waits) <= utcnow() + timedelta(seconds=SLOW_RETRY_SECONDS)  # seconds, not minutes
    slow["on"] = False
    await _make_due(sessions, TABLES, relay)
    assert await relay.relay_once() == 20  # half a batch while it proves it keeps up
    while await relay.relay_once():
        pass
    assert subscribers.got(KPI) == ids


# Spaces, an exponent and an escape: text that no decoding and encoding again gives back as it was.
STORED_TEXTS = ['{"specversion": "1.0", "id": "evt-%d", "source": "/test", "type": "note.created", '
                '"data": {"n": 1.0e16, "text": "caf\\u00e9"}}' % n for n in range(3)]


async def test_events_go_out_as_the_json_text_stored_new_and_retried(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The relay sends each event's stored text as it is (not decoded and encoded again), in a new
    batch and in a subscriber's retried deliveries alike."""
    bodies: dict[str, list[bytes]] = {KPI: [], SURVEY: []}
    subscribers = Subscribers(down={KPI})

    async def recording(request: httpx.Request) -> httpx.Response:
        answer = await subscribers(request)
        bodies[f"{request.url.scheme}://{request.url.host}"].append(request.content)
        return answer

    transport = HttpTransport({"note.": [KPI, SURVEY]}, SECRET, httpx.AsyncClient(transport=httpx.MockTransport(recording)))
    relay = OutboxRelay(sessions, TABLES.outbox, TABLES.outbox_deliveries, transport)
    async with sessions() as session, session.begin():
        # The text handed to the column as text (a bound JSON value would be encoded by the engine).
        as_json = "CAST(CAST(:payload AS TEXT) AS JSON)" if session.bind.dialect.name == "postgresql" else ":payload"
        for number, payload in enumerate(STORED_TEXTS):
            await session.execute(text(f"INSERT INTO outbox (event_id, type, payload, created_at, next_attempt_at, attempts) "
                                       f"VALUES (:event_id, 'note.created', {as_json}, :now, :now, 0)"),
                                  {"event_id": f"evt-{number}", "payload": payload, "now": utcnow()})
    expected = ("[" + ",".join(STORED_TEXTS) + "]").encode()
    await relay.relay_once()
    subscribers.down.clear()
    await _make_due(sessions, TABLES, relay)
    await relay.relay_once()
    assert bodies[SURVEY] == [expected]
    assert bodies[KPI] == [expected]  # refused once (no body recorded), then retried from its deliveries
