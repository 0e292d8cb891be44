"""The transactional outbox: an event is written with the state change it reports, then relayed.

`record_event` adds the event in the caller's transaction. `OutboxRelay` runs in the
service's process. Each pass leases a batch of new outbox rows and POSTs each subscriber its
share of it straight away, to all subscribers at once (the transport says who: the
subscribers' base URLs for HTTP, the stream for NATS). When they have answered, one
transaction marks the rows sent (handed over) and writes a delivery row only for what did not
get through: a subscriber that refused or failed, one that rests after refusals, one still
busy with an earlier send. Delivery rows keep their own attempts and backoff per (event,
subscriber) and are claimed and sent by later passes, so a subscriber that is down delays
only its own deliveries while the others get theirs at once, and a healthy suite writes
nothing per event and subscriber.

Delivery is at-least-once; consumers make the effect exactly-once (see `shared.consumer`). A
relay that dies after sending and before settling leaves its batch leased: when the lease
ends the batch is sent again, to every subscriber.
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
    cast, insert, select, text, update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.db import HeldLease, UTCDateTime, utcnow
from shared.events import CloudEvent
from shared.jobs import PeriodicJob

logger = logging.getLogger("csloop.outbox")

MAX_BACKOFF_SECONDS = 300
# How long a claimed batch or delivery is left alone by other relays before it is due again.
CLAIM_LEASE_SECONDS = 60
# How long a relay pass waits for the subscribers' answers before it goes on without the slow
# ones: a send still in flight then goes on in a task of its own, its share kept as delivery rows.
PASS_PATIENCE_SECONDS = 0.5
# A subscriber that took longer than the transport's timeout is alive, only slow: its share is
# tried again after this pause (not a backoff growing to minutes) and in smaller batches.
SLOW_RETRY_SECONDS = 2.0
MIN_SHARE = 10
# How long a woken relay waits before its pass, so the commits right behind the one that woke it
# go in the same batch: under a steady load a pass per commit carried one or two events, and each
# paid the claim, a request to every subscriber (and each subscriber its transaction) and the
# hand-over. What it adds to an event's way is small beside the interval it saves.
WAKE_LINGER_SECONDS = 0.05
# Errors that say the subscriber is slow, not down (the transport puts it in its error text).
TIMED_OUT = "timed out waiting for the answer"
_SEQ = BigInteger().with_variant(Integer, "sqlite")
_UNSENT = text("sent_at IS NULL")
_SENT = text("sent_at IS NOT NULL")


def outbox_table(metadata: MetaData, *, bulk_writes: bool = False) -> Table:
    """Events as written; `sent_at` is when the relay handed the row over (sent it, or kept
    delivery rows for what did not get through), `next_attempt_at` when a relay's lease on
    it ends. (`attempts` and `last_error` date from when the row was the unit of delivery;
    they are no longer read, and written only at insert.)

    `bulk_writes`: the outbox of a service that writes events by the 100,000 in one statement
    (the customer import). Each index a new row goes into is paid per event, as much again as
    the row, so a new row goes into two only: the primary key and the relay's unsent index. The
    pruning index holds sent rows only (the relay's UPDATE puts a row in it when it hands it
    over, which that UPDATE paid for already: `sent_at` is indexed), and `event_id` has no
    unique index: the writer makes every id unique (a UUID, or UUIDv7-shaped and counted within
    a statement), and consumers dedupe on it (`shared.consumer`).
    """
    pruning = (Index("ix_outbox_sent_at", "sent_at", postgresql_where=_SENT, sqlite_where=_SENT) if bulk_writes
               else Index("ix_outbox_sent_at", "sent_at"))
    return Table(
        "outbox", metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=not bulk_writes),
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
        pruning,  # the housekeeping's oldest-first pruning (`sent_at < cutoff`)
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


def _sent_columns(outbox: Table) -> tuple[Any, ...]:
    """What a relay reads of an event to send it: its type, its id, and its CloudEvent as the JSON
    text stored (a `json` column keeps the text it was given). The transports send that text as it
    is: decoding it into dicts only to encode them again was a third of the relay's
    samples in the survey service under load."""
    return outbox.c.type, outbox.c.event_id, cast(outbox.c.payload, Text).label("payload")


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
        lease: HeldLease | None = None,
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
        # A subscriber that timed out gets smaller shares (from its delivery rows), doubled again
        # with each share answered in time, until it takes whole batches straight again.
        self._share_size: dict[str, int] = {}
        # With `lease`, only the replica that holds it relays; the others' commits wait for its
        # next pass (at most `interval_seconds`). Without, every relay claims (tests, one process).
        self._leader = lease
        self._job = PeriodicJob("outbox-relay", self.relay_once, interval_seconds, batch_size=batch_size, lease=lease,
                                linger_seconds=WAKE_LINGER_SECONDS)

    def start(self) -> None:
        self._job.start()

    async def stop(self) -> None:
        await self._job.stop()
        for task in self._sending.values():
            task.cancel()  # its deliveries stay leased, and fall due again when the lease ends
        await asyncio.gather(*self._sending.values(), return_exceptions=True)
        if self._leader is not None:
            await self._leader.release()
        await self._transport.close()

    def wake(self) -> None:
        self._job.wake()

    async def relay_once(self) -> int:
        """Send a batch of new events to their subscribers, and each subscriber a batch of its due deliveries.

        Returns the most rows one step handled (the new batch, or one subscriber's share of due
        deliveries): a full batch means more is waiting, and the next pass runs at once.

        No transaction stays open while events travel: a consumer in this same process (or
        on the same SQLite file) must be able to write while the relay waits for its answer.
        Batches and deliveries are claimed with a lease instead, so several relays never send
        the same one at once, and a relay that dies mid-batch leaves rows that fall due again
        when it expires.

        The pass waits for the subscribers a short while only: a subscriber that hangs (its
        host up, its process stuck) or is slow keeps its send in a task of its own, and gets
        its share of later batches as delivery rows, claimed once it has answered, while the
        others' events go on at once.
        """
        now = time.monotonic()
        busy = set(self._sending) | {subscriber for subscriber, until in self._resting_until.items() if until > now}
        batch, shares = await self._claim(busy)
        started = [self._start(subscriber, self._deliver(subscriber, rows)) for subscriber, rows in shares.items()]
        if batch:
            await self._relay_new(batch, skip=busy | set(shares) | set(self._share_size))
        if started:  # this pass's sends only: one still hanging from an earlier pass holds up nothing
            await asyncio.wait(started, timeout=PASS_PATIENCE_SECONDS)
        return max([len(batch), *map(len, shares.values())])

    def _start(self, subscriber: str, work: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=f"outbox-relay {subscriber}")
        self._sending[subscriber] = task
        task.add_done_callback(lambda _task: self._sending.pop(subscriber, None))
        return task

    async def _relay_new(self, batch: list[dict[str, Any]], skip: set[str]) -> None:
        """Send each subscriber its share of a new batch, then hand the batch over in one transaction:
        rows marked sent, delivery rows for every share that did not get through (yet)."""
        shares: dict[str, list[dict[str, Any]]] = {}
        for row in batch:
            for subscriber in self._transport.subscribers(row["type"]):
                shares.setdefault(subscriber, []).append(row)
        sends = {subscriber: asyncio.create_task(self._send(subscriber, rows))
                 for subscriber, rows in shares.items() if subscriber not in skip}
        try:
            if sends:
                await asyncio.wait(sends.values(), timeout=PASS_PATIENCE_SECONDS)
            now = utcnow()
            kept: list[dict[str, Any]] = []
            in_flight: dict[str, list[dict[str, Any]]] = {}
            for subscriber, rows in shares.items():
                send = sends.get(subscriber)
                if send is None:  # busy, resting or slow: its deliveries wait for it, due now
                    kept += [_delivery(row["seq"], subscriber, now) for row in rows]
                elif not send.done():
                    in_flight[subscriber] = rows
                else:
                    refused = send.result()
                    kept += [_delivery(row["seq"], subscriber, now, error=refused[row["seq"]], attempts=1)
                             for row in rows if row["seq"] in refused]
                    self._note(subscriber, refused, len(rows))
            async with self._settling:
                leased = await self._hand_over(batch, kept, in_flight, now)
        except BaseException:
            for send in sends.values():
                send.cancel()  # the batch stays leased and is sent again when the lease ends
            raise
        for subscriber, deliveries in leased.items():
            self._start(subscriber, self._settle_later(subscriber, sends[subscriber], deliveries))

    async def _hand_over(self, batch: list[dict[str, Any]], kept: list[dict[str, Any]],
                         in_flight: dict[str, list[dict[str, Any]]], now: Any) -> dict[str, list[dict[str, Any]]]:
        """Mark the batch sent and write its delivery rows; those of sends still in flight leased,
        and returned per subscriber for their task to settle."""
        outbox, deliveries = self._outbox, self._deliveries
        lease_end = now + timedelta(seconds=CLAIM_LEASE_SECONDS)
        leased: dict[str, list[dict[str, Any]]] = {}
        async with self._sessions() as session, session.begin():
            await session.execute(update(outbox).where(outbox.c.seq.in_([row["seq"] for row in batch])).values(sent_at=now))
            if kept:
                await session.execute(insert(deliveries), kept)
            pending = [_delivery(row["seq"], subscriber, lease_end) for subscriber, rows in in_flight.items() for row in rows]
            if pending:
                written = await session.execute(
                    insert(deliveries).returning(deliveries.c.id, deliveries.c.seq, deliveries.c.subscriber), pending)
                for row in written.mappings():
                    leased.setdefault(row["subscriber"], []).append({**row, "attempts": 0})
        return leased

    async def _settle_later(self, subscriber: str, send: "asyncio.Task[dict[int, str]]", rows: list[dict[str, Any]]) -> None:
        """Settle the delivery rows of a send that outlasted its pass, once it has an answer."""
        try:
            refused = await send
            async with self._settling:
                await self._settle(rows, {row["id"]: refused[row["seq"]] for row in rows if row["seq"] in refused})
            self._note(subscriber, refused, len(rows))
        except Exception:
            logger.exception("outbox relay: settling %d events sent to %s failed", len(rows), subscriber)

    async def _send(self, subscriber: str, rows: list[dict[str, Any]]) -> dict[int, str]:
        try:
            return await self._transport.send(subscriber, rows)
        except Exception as exc:  # a transport's own failure is this share's, retried as any other
            logger.exception("outbox relay: sending %d events to %s failed", len(rows), subscriber)
            return {row["seq"]: f"{subscriber}: {exc!r}"[:500] for row in rows}

    async def _deliver(self, subscriber: str, rows: list[Any]) -> None:
        """Send a subscriber its share of due deliveries in batches and settle each: sent, or backed off.

        A failure here (the database gone while settling) is logged; the deliveries stay
        leased and fall due again when the lease ends.
        """
        try:
            refused: dict[int, str] = {}
            for start in range(0, len(rows), self._batch_size):
                refused.update(await self._send(subscriber, rows[start:start + self._batch_size]))
            async with self._settling:
                await self._settle(rows, {row["id"]: refused[row["seq"]] for row in rows if row["seq"] in refused})
            self._note(subscriber, refused, len(rows))
        except Exception:
            logger.exception("outbox relay: delivering %d events to %s failed", len(rows), subscriber)

    def _note(self, subscriber: str, refused: dict[int, str], sent: int) -> None:
        """Learn from a share's answer: rest after refusals, smaller shares after timeouts."""
        if not refused:
            self._refusals.pop(subscriber, None)
            self._resting_until.pop(subscriber, None)
            if subscriber in self._share_size:
                self._share_size[subscriber] *= 2
                if self._share_size[subscriber] >= self._batch_size:
                    del self._share_size[subscriber]
            return
        if all(TIMED_OUT in error for error in refused.values()):
            # Alive but slow: it may well have applied the share. Smaller shares, no rest.
            self._share_size[subscriber] = max(MIN_SHARE, min(self._share_size.get(subscriber, sent), sent) // 2)
            return
        if len(refused) < sent:
            return
        self._refusals[subscriber] = refusals = self._refusals.get(subscriber, 0) + 1
        self._resting_until[subscriber] = time.monotonic() + _backoff(refusals)

    async def _claim(self, busy: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """A batch of new events leased, and a batch of due deliveries per subscriber not busy with a send.

        A batch per subscriber, not one for all: a subscriber back from a long outage, with
        thousands of deliveries due at once, does not crowd the others out of the claim.
        """
        async with self._sessions() as session, session.begin():
            batch = await self._lease_new(session)
            shares = {}
            for subscriber in await self._with_due(session, busy):
                if rows := await self._lease(session, subscriber):
                    shares[subscriber] = rows
            if not shares:
                return batch, {}
            outbox = self._outbox
            seqs = {row["seq"] for rows in shares.values() for row in rows}
            events = {row.seq: row for row in await session.execute(
                select(outbox.c.seq, *_sent_columns(outbox)).where(outbox.c.seq.in_(seqs)))}
        for rows in shares.values():
            for row in rows:
                event = events[row["seq"]]
                row["type"], row["event_id"], row["payload"] = event.type, event.event_id, event.payload
            rows.sort(key=lambda row: row["id"])
        return batch, shares

    async def _lease_new(self, session: AsyncSession) -> list[dict[str, Any]]:
        """Lease a batch of new outbox rows: one UPDATE of rows unsent and unleased, so two relays
        never take the same row (on SQLite a SELECT would run before the write lock is taken)."""
        outbox = self._outbox
        now = utcnow()
        due = (outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= now)
        new = select(outbox.c.seq).where(*due).order_by(outbox.c.seq).limit(self._batch_size)
        if session.bind.dialect.name == "postgresql":
            new = new.with_for_update(skip_locked=True)
        leased = (
            update(outbox).where(outbox.c.seq.in_(new.scalar_subquery()), *due)
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
            .returning(outbox.c.seq, *_sent_columns(outbox))
        )
        return sorted(({"seq": seq, "type": type_, "event_id": event_id, "payload": payload}
                       for seq, type_, event_id, payload in await session.execute(leased)), key=lambda row: row["seq"])

    async def _with_due(self, session: AsyncSession, busy: set[str]) -> list[str]:
        """The subscribers not busy that have deliveries due: one statement on the partial index,
        where asking each subscriber would be one per subscriber and pass (none, mostly)."""
        deliveries = self._deliveries
        due = await session.execute(
            select(deliveries.c.subscriber).distinct()
            .where(deliveries.c.sent_at.is_(None), deliveries.c.next_attempt_at <= utcnow()))
        due_now = set(due.scalars())
        return [subscriber for subscriber in self._transport.all_subscribers if subscriber in due_now and subscriber not in busy]

    async def _lease(self, session: AsyncSession, subscriber: str) -> list[dict[str, Any]]:
        deliveries = self._deliveries
        now = utcnow()
        due = (
            select(deliveries.c.id)
            .where(deliveries.c.subscriber == subscriber, deliveries.c.sent_at.is_(None), deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(self._share_size.get(subscriber, self._batch_size))
        )
        if session.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        leased = (
            update(deliveries).where(deliveries.c.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
            .returning(deliveries.c.id, deliveries.c.seq, deliveries.c.subscriber, deliveries.c.attempts)
        )
        return [dict(row) for row in (await session.execute(leased)).mappings()]

    async def _settle(self, rows: list[dict[str, Any]], failed: dict[int, str]) -> None:
        """Mark delivered rows sent; push each failed one back with exponential backoff and jitter
        (a short fixed pause when the subscriber only timed out)."""
        deliveries = self._deliveries
        now = utcnow()
        async with self._sessions() as session, session.begin():
            sent = [row["id"] for row in rows if row["id"] not in failed]
            if sent:
                await session.execute(update(deliveries).where(deliveries.c.id.in_(sent)).values(sent_at=now, last_error=None))
            retries = [
                {"_id": row["id"], "attempts": row["attempts"] + 1, "last_error": failed[row["id"]],
                 "next_attempt_at": now + timedelta(seconds=_retry_after(row["attempts"] + 1, failed[row["id"]]))}
                for row in rows if row["id"] in failed
            ]
            if retries:
                await session.execute(
                    update(deliveries).where(deliveries.c.id == bindparam("_id"))
                    .values(attempts=bindparam("attempts"), last_error=bindparam("last_error"),
                            next_attempt_at=bindparam("next_attempt_at")),
                    retries,
                )


def _delivery(seq: int, subscriber: str, due: Any, *, error: str | None = None, attempts: int = 0) -> dict[str, Any]:
    """A delivery row of a share that did not get through; a failed one backed off from `due`."""
    if error is not None:
        due = due + timedelta(seconds=_retry_after(attempts, error))
    return {"seq": seq, "subscriber": subscriber, "attempts": attempts, "next_attempt_at": due, "last_error": error}


def _retry_after(attempts: int, error: str) -> float:
    return SLOW_RETRY_SECONDS if TIMED_OUT in error else _backoff(attempts)


def _backoff(attempts: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 9)) * (0.5 + random.random() / 2)


class EventTransport(Protocol):
    """How events leave the service: HTTP to each subscriber (default) or NATS JetStream."""

    @property
    def all_subscribers(self) -> list[str]:
        """Every subscriber the relay claims deliveries for (one that left the configuration keeps its rows, unsent)."""

    def subscribers(self, event_type: str) -> list[str]:
        """Who gets an event of this type (a delivery row each only when it does not get through at once)."""

    async def send(self, subscriber: str, rows: list[Any]) -> dict[int, str]:
        """Send the rows to one subscriber; returns the error of each row (by seq) that was not delivered."""

    async def close(self) -> None: ...


class HttpTransport:
    """POSTs a subscriber its share of a batch in one request: a 100,000-row import is
    500 requests per subscriber, not 100,000.

    The answer is awaited up to 30 s: a send runs in a task of its own and holds up no other
    subscriber, and a consumer applying a big batch on a loaded machine is slow, not down.
    """

    def __init__(self, subscriptions: dict[str, list[str]], secret: str, client: httpx.AsyncClient | None = None) -> None:
        self._subscriptions = subscriptions
        self._secret = secret
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0))
        # The body last encoded, by its rows' seqs: subscribers of the same share get the same bytes.
        self._encoded: tuple[tuple[int, ...], bytes] = ((), b"")

    @property
    def all_subscribers(self) -> list[str]:
        return list(dict.fromkeys(url for urls in self._subscriptions.values() for url in urls))

    def subscribers(self, event_type: str) -> list[str]:
        return subscribers_for(event_type, self._subscriptions)

    async def send(self, subscriber: str, rows: list[Any]) -> dict[int, str]:
        try:
            await self._post(subscriber, self._body(rows))
        except httpx.TimeoutException as exc:
            if not isinstance(exc, httpx.ConnectTimeout):  # it took the request: alive, only slow
                return {row["seq"]: f"{subscriber}: {TIMED_OUT}" for row in rows}
            return {row["seq"]: f"{subscriber}: {exc!r}"[:500] for row in rows}
        except (httpx.HTTPError, DeliveryRefused) as exc:
            return {row["seq"]: f"{subscriber}: {exc}"[:500] for row in rows}
        return {}

    def _body(self, rows: list[Any]) -> bytes:
        seqs = tuple(row["seq"] for row in rows)
        if self._encoded[0] != seqs:
            self._encoded = seqs, ("[" + ",".join(row["payload"] for row in rows) + "]").encode()
        return self._encoded[1]

    async def _post(self, base_url: str, body: bytes) -> None:
        token = mint_internal_token(system_principal(), self._secret, ttl_seconds=60)
        response = await self._client.post(
            base_url.rstrip("/") + "/internal/events", content=body,
            headers={INTERNAL_HEADER: token, "Content-Type": "application/json"},
        )
        if response.status_code >= 300:
            raise DeliveryRefused(f"{base_url} answered {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


class DeliveryRefused(Exception):
    pass
