"""The transactional outbox: an event is written with the state change it reports, then relayed.

`record_event` adds the event in the caller's transaction. `OutboxRelay` runs in the
service's process and works in two steps. It fans each new outbox row out into one delivery
row per subscriber (the transport says who: the subscribers' base URLs for HTTP, the stream
for NATS) and marks the outbox row sent, meaning handed over. Then it claims due deliveries,
sends each subscriber its share and settles each delivery on its own. Delivery state is kept
per (event, subscriber), so a subscriber that is down delays only its own deliveries, each
backed off on its own, while the others get theirs at once.

Delivery is at-least-once; consumers make the effect exactly-once (see `shared.consumer`). A
crash between sending and settling sends again.
"""

import asyncio
import logging
import random
import time
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import (
    JSON, BigInteger, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, bindparam,
    insert, select, text, update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.db import UTCDateTime, utcnow
from shared.events import CloudEvent
from shared.jobs import PeriodicJob

logger = logging.getLogger("csloop.outbox")

MAX_BACKOFF_SECONDS = 300
# How long a claimed delivery is left alone by other relays before it is due again.
CLAIM_LEASE_SECONDS = 60
# How long a relay pass waits for the subscribers' answers before it goes on without the slow ones.
PASS_PATIENCE_SECONDS = 0.25
_SEQ = BigInteger().with_variant(Integer, "sqlite")
_UNSENT = text("sent_at IS NULL")


def outbox_table(metadata: MetaData) -> Table:
    """Events as written; `sent_at` is when the relay handed the row over to its deliveries.

    (`attempts`, `next_attempt_at` and `last_error` date from when the row was the unit of
    delivery; they are no longer read, and written only at insert.)
    """
    return Table(
        "outbox", metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("last_error", Text),
        # The relay looks only at rows not yet handed over: with millions of sent rows kept
        # for the retention period, a partial index stays the size of the backlog.
        Index("ix_outbox_unsent", "seq", postgresql_where=_UNSENT, sqlite_where=_UNSENT),
        Index("ix_outbox_sent_at", "sent_at"),  # the housekeeping's oldest-first pruning
    )


def outbox_deliveries_table(metadata: MetaData) -> Table:
    """One row per (event, subscriber): its own attempts, backoff and lease."""
    return Table(
        "outbox_deliveries", metadata,
        Column("id", _SEQ, primary_key=True, autoincrement=True),
        Column("seq", _SEQ, ForeignKey("outbox.seq"), nullable=False),
        Column("subscriber", String(500), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Column("last_error", Text),
        UniqueConstraint("seq", "subscriber"),
        Index("ix_outbox_deliveries_due", "subscriber", "next_attempt_at", postgresql_where=_UNSENT, sqlite_where=_UNSENT),
        Index("ix_outbox_deliveries_sent_at", "sent_at"),
    )


def outbox_row(event: CloudEvent) -> dict[str, Any]:
    now = utcnow()
    return {
        "event_id": event.id, "type": event.type, "payload": event.model_dump(mode="json"),
        "created_at": now, "next_attempt_at": now, "attempts": 0,
    }


async def record_event(session: AsyncSession, outbox: Table, event: CloudEvent) -> None:
    """Add `event` to the current transaction; it is sent only if the transaction commits."""
    await session.execute(insert(outbox).values(outbox_row(event)))
    note_events_recorded(session)


_RECORDED = "csloop.events_recorded"


def note_events_recorded(session: AsyncSession) -> None:
    """Tell the request's session that its transaction wrote outbox rows (see `events_recorded`)."""
    session.info[_RECORDED] = True


def events_recorded(session: AsyncSession) -> bool:
    """Did this session write outbox rows? Only then is the relay woken after the commit: a pass
    is a transaction of its own, which a read must not pay for."""
    return bool(session.info.get(_RECORDED))


def subscribers_for(event_type: str, subscriptions: dict[str, list[str]]) -> list[str]:
    """Base URLs subscribed to a type, by prefix: `customer.` matches `customer.erased`; `*` all."""
    urls: list[str] = []
    for prefix, targets in subscriptions.items():
        if prefix == "*" or event_type == prefix or (prefix.endswith(".") and event_type.startswith(prefix)):
            urls.extend(url for url in targets if url not in urls)
    return urls


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        deliveries: Table,
        transport: "EventTransport",
        *,
        interval_seconds: float = 0.5,
        batch_size: int = 200,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._deliveries = deliveries
        self._transport = transport
        self._batch_size = batch_size
        self._sending: dict[str, asyncio.Task[None]] = {}  # subscriber -> its send in flight
        # Settling is short and done one share at a time: the relay holds at most two database
        # connections (a claim, a settle) however many subscribers it sends to at once.
        self._settling = asyncio.Lock()
        # A subscriber that refused a whole share rests (is not claimed for) a while, growing with
        # each refusal in a row: its new deliveries wait for it together instead of being tried,
        # refused and settled one pass after another. In memory: each replica learns on its own.
        self._refusals: dict[str, int] = {}
        self._resting_until: dict[str, float] = {}
        self._job = PeriodicJob("outbox-relay", self.relay_once, interval_seconds, batch_size=batch_size)

    def start(self) -> None:
        self._job.start()

    async def stop(self) -> None:
        await self._job.stop()
        for task in self._sending.values():
            task.cancel()  # its deliveries stay leased, and fall due again when the lease ends
        await asyncio.gather(*self._sending.values(), return_exceptions=True)
        await self._transport.close()

    def wake(self) -> None:
        self._job.wake()

    async def relay_once(self) -> int:
        """Fan out new events, then send each subscriber a batch of its due deliveries.

        Returns the most rows one step handled (the fan-out, or one subscriber's share): a
        full batch means more is waiting, and the next pass runs at once.

        No transaction stays open while events travel: a consumer in this same process (or
        on the same SQLite file) must be able to write while the relay waits for its answer.
        Deliveries are claimed with a lease instead, so several relays never send the same
        one at once, and a relay that dies mid-batch leaves deliveries that fall due again
        when it expires.

        Each subscriber's share is sent and settled by a task of its own. The pass waits for
        them a short while only: a subscriber that hangs (its host up, its process stuck)
        keeps its task, and is left out of the next claims until it answers or times out,
        while the others' deliveries go on at once.
        """
        now = time.monotonic()
        resting = {subscriber for subscriber, until in self._resting_until.items() if until > now}
        handed_over, shares = await self._claim(busy=set(self._sending) | resting)
        started = []
        for subscriber, rows in shares.items():
            task = asyncio.create_task(self._deliver(subscriber, rows), name=f"outbox-relay {subscriber}")
            self._sending[subscriber] = task
            task.add_done_callback(lambda _task, subscriber=subscriber: self._sending.pop(subscriber, None))
            started.append(task)
        if started:  # this pass's sends only: one still hanging from an earlier pass holds up nothing
            await asyncio.wait(started, timeout=PASS_PATIENCE_SECONDS)
        return max([handed_over, *map(len, shares.values())])

    async def _deliver(self, subscriber: str, rows: list[Any]) -> None:
        """Send a subscriber its share in batches and settle each delivery: sent, or backed off.

        A failure here (the database gone while settling) is logged; the deliveries stay
        leased and fall due again when the lease ends.
        """
        try:
            failed: dict[int, str] = {}
            for start in range(0, len(rows), self._batch_size):
                chunk = rows[start:start + self._batch_size]
                refused = await self._transport.send(subscriber, chunk)
                failed.update({row["id"]: refused[row["seq"]] for row in chunk if row["seq"] in refused})
            async with self._settling:
                await self._settle(rows, failed)
            self._note(subscriber, refused_all=len(failed) == len(rows))
        except Exception:
            logger.exception("outbox relay: delivering %d events to %s failed", len(rows), subscriber)

    def _note(self, subscriber: str, *, refused_all: bool) -> None:
        if not refused_all:
            self._refusals.pop(subscriber, None)
            self._resting_until.pop(subscriber, None)
            return
        self._refusals[subscriber] = refusals = self._refusals.get(subscriber, 0) + 1
        self._resting_until[subscriber] = time.monotonic() + _backoff(refusals)

    async def _claim(self, busy: set[str]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
        """New events fanned out, then a batch of due deliveries leased per subscriber not busy with a send.

        A batch per subscriber, not one for all: a subscriber back from a long outage, with
        thousands of deliveries due at once, does not crowd the others out of the claim.
        """
        async with self._sessions() as session, session.begin():
            handed_over = await self._fan_out(session)
            shares = {}
            for subscriber in self._transport.all_subscribers:
                if subscriber not in busy and (rows := await self._lease(session, subscriber)):
                    shares[subscriber] = rows
            if not shares:
                return handed_over, {}
            outbox = self._outbox
            seqs = {row["seq"] for rows in shares.values() for row in rows}
            events = {row.seq: row for row in await session.execute(
                select(outbox.c.seq, outbox.c.type, outbox.c.payload).where(outbox.c.seq.in_(seqs)))}
        for rows in shares.values():
            for row in rows:
                row["type"], row["payload"] = events[row["seq"]].type, events[row["seq"]].payload
            rows.sort(key=lambda row: row["id"])
        return handed_over, shares

    async def _lease(self, session: AsyncSession, subscriber: str) -> list[dict[str, Any]]:
        deliveries = self._deliveries
        now = utcnow()
        due = (
            select(deliveries.c.id)
            .where(deliveries.c.subscriber == subscriber, deliveries.c.sent_at.is_(None), deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(self._batch_size)
        )
        if session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        leased = (
            update(deliveries).where(deliveries.c.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
            .returning(deliveries.c.id, deliveries.c.seq, deliveries.c.subscriber, deliveries.c.attempts)
        )
        return [dict(row) for row in (await session.execute(leased)).mappings()]

    async def _fan_out(self, session: AsyncSession) -> int:
        """Hand new outbox rows over: marked and given one delivery per subscriber in one transaction.

        The mark is the claim, one UPDATE of rows still unmarked: two relays never fan out the
        same row (on SQLite a SELECT would run before the write lock is taken).
        """
        outbox = self._outbox
        new = select(outbox.c.seq).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.seq).limit(self._batch_size)
        if session.bind.dialect.name == "postgresql":
            new = new.with_for_update(skip_locked=True)
        now = utcnow()
        handed_over = (
            update(outbox).where(outbox.c.seq.in_(new.scalar_subquery()), outbox.c.sent_at.is_(None))
            .values(sent_at=now).returning(outbox.c.seq, outbox.c.type)
        )
        handed_over_rows = (await session.execute(handed_over)).all()
        deliveries = [
            {"seq": seq, "subscriber": subscriber, "attempts": 0, "next_attempt_at": now}
            for seq, type_ in handed_over_rows for subscriber in self._transport.subscribers(type_)
        ]
        if deliveries:
            await session.execute(insert(self._deliveries), deliveries)
        return len(handed_over_rows)

    async def _settle(self, rows: list[dict[str, Any]], failed: dict[int, str]) -> None:
        """Mark delivered rows sent; push each failed one back with exponential backoff and jitter."""
        deliveries = self._deliveries
        now = utcnow()
        async with self._sessions() as session, session.begin():
            sent = [row["id"] for row in rows if row["id"] not in failed]
            if sent:
                await session.execute(update(deliveries).where(deliveries.c.id.in_(sent)).values(sent_at=now, last_error=None))
            retries = [
                {"_id": row["id"], "attempts": row["attempts"] + 1, "last_error": failed[row["id"]],
                 "next_attempt_at": now + timedelta(seconds=_backoff(row["attempts"] + 1))}
                for row in rows if row["id"] in failed
            ]
            if retries:
                await session.execute(
                    update(deliveries).where(deliveries.c.id == bindparam("_id"))
                    .values(attempts=bindparam("attempts"), last_error=bindparam("last_error"),
                            next_attempt_at=bindparam("next_attempt_at")),
                    retries,
                )


def _backoff(attempts: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 9)) * (0.5 + random.random() / 2)


class EventTransport(Protocol):
    """How events leave the service: HTTP to each subscriber (default) or NATS JetStream."""

    @property
    def all_subscribers(self) -> list[str]:
        """Every subscriber the relay claims deliveries for (one that left the configuration keeps its rows, unsent)."""

    def subscribers(self, event_type: str) -> list[str]:
        """Who gets an event of this type: one delivery row each."""

    async def send(self, subscriber: str, rows: list[Any]) -> dict[int, str]:
        """Send the rows to one subscriber; returns the error of each row (by seq) that was not delivered."""

    async def close(self) -> None: ...


class HttpTransport:
    """POSTs a subscriber its share of a batch in one request: a 100,000-row import is
    500 requests per subscriber, not 100,000."""

    def __init__(self, subscriptions: dict[str, list[str]], secret: str, client: httpx.AsyncClient | None = None) -> None:
        self._subscriptions = subscriptions
        self._secret = secret
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))

    @property
    def all_subscribers(self) -> list[str]:
        return list(dict.fromkeys(url for urls in self._subscriptions.values() for url in urls))

    def subscribers(self, event_type: str) -> list[str]:
        return subscribers_for(event_type, self._subscriptions)

    async def send(self, subscriber: str, rows: list[Any]) -> dict[int, str]:
        try:
            await self._post(subscriber, [row["payload"] for row in rows])
        except (httpx.HTTPError, DeliveryRefused) as exc:
            return {row["seq"]: f"{subscriber}: {exc}"[:500] for row in rows}
        return {}

    async def _post(self, base_url: str, payloads: list[dict[str, Any]]) -> None:
        token = mint_internal_token(system_principal(), self._secret, ttl_seconds=60)
        response = await self._client.post(
            base_url.rstrip("/") + "/internal/events", json=payloads, headers={INTERNAL_HEADER: token},
        )
        if response.status_code >= 300:
            raise DeliveryRefused(f"{base_url} answered {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


class DeliveryRefused(Exception):
    pass
