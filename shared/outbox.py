"""The transactional outbox: an event is written with the state change it reports, then relayed.

`record_event` adds the event in the caller's transaction. `OutboxRelay` runs in the
service's process, claims pending rows, hands them to a transport (HTTP POSTs to the
subscribers' `/internal/events`, or NATS JetStream) and marks them sent. Delivery is at-least-once; consumers make the effect
exactly-once (see `shared.consumer`). A crash between delivery and marking sends again.
"""

import random
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.db import UTCDateTime, utcnow
from shared.events import CloudEvent
from shared.jobs import PeriodicJob

MAX_BACKOFF_SECONDS = 300
# How long a claimed row is left alone by other relays before it is due again.
CLAIM_LEASE_SECONDS = 60


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox", metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UTCDateTime, nullable=False),
        Column("last_error", Text),
        Index("ix_outbox_pending", "sent_at", "next_attempt_at"),
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
        transport: "EventTransport",
        *,
        interval_seconds: float = 0.5,
        batch_size: int = 200,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._transport = transport
        self._batch_size = batch_size
        self._job = PeriodicJob("outbox-relay", self.relay_once, interval_seconds, batch_size=batch_size)

    def start(self) -> None:
        self._job.start()

    async def stop(self) -> None:
        await self._job.stop()
        await self._transport.close()

    def wake(self) -> None:
        self._job.wake()

    async def relay_once(self) -> int:
        """Deliver one batch of due events; returns how many rows it handled.

        No transaction stays open while events travel: a consumer in this same process (or
        on the same SQLite file) must be able to write while the relay waits for its answer.
        Rows are claimed with a lease instead, so several relays never send the same row at
        once, and a relay that dies mid-batch leaves rows that fall due again when it expires.
        """
        rows = await self._claim_batch()
        if rows:
            await self._settle(rows, await self._transport.deliver(rows))
        return len(rows)

    async def _claim_batch(self) -> list[Any]:
        outbox = self._outbox
        async with self._sessions() as session, session.begin():
            due = (
                select(outbox.c.seq)
                .where(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= utcnow())
                .order_by(outbox.c.seq)
                .limit(self._batch_size)
            )
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = (
                update(outbox).where(outbox.c.seq.in_(due.scalar_subquery()))
                .values(next_attempt_at=utcnow() + timedelta(seconds=CLAIM_LEASE_SECONDS))
                .returning(outbox.c.seq, outbox.c.type, outbox.c.payload, outbox.c.attempts)
            )
            rows = (await session.execute(claimed)).mappings().all()
        return sorted(rows, key=lambda row: row["seq"])

    async def _settle(self, rows: list[Any], failed: dict[int, str]) -> None:
        """Mark delivered rows sent; push failed ones back with exponential backoff and jitter."""
        outbox = self._outbox
        now = utcnow()
        async with self._sessions() as session, session.begin():
            sent = [row["seq"] for row in rows if row["seq"] not in failed]
            if sent:
                await session.execute(update(outbox).where(outbox.c.seq.in_(sent)).values(sent_at=now, last_error=None))
            for row in rows:
                if row["seq"] in failed:
                    attempts = row["attempts"] + 1
                    backoff = min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 9)) * (0.5 + random.random() / 2)
                    await session.execute(update(outbox).where(outbox.c.seq == row["seq"]).values(
                        attempts=attempts, last_error=failed[row["seq"]], next_attempt_at=now + timedelta(seconds=backoff),
                    ))


class EventTransport(Protocol):
    """How claimed outbox rows leave the service: HTTP to subscribers (default) or NATS JetStream."""

    async def deliver(self, rows: list[Any]) -> dict[int, str]:
        """Send the rows; returns the error of each row (by seq) that was not delivered."""

    async def close(self) -> None: ...


class HttpTransport:
    """POSTs each subscriber its share of a batch in one request: a 100,000-row import is
    500 requests per subscriber, not 100,000."""

    def __init__(self, subscriptions: dict[str, list[str]], secret: str, client: httpx.AsyncClient | None = None) -> None:
        self._subscriptions = subscriptions
        self._secret = secret
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))

    async def deliver(self, rows: list[Any]) -> dict[int, str]:
        failed: dict[int, str] = {}
        batches: dict[str, list[Any]] = {}
        for row in rows:
            for base_url in subscribers_for(row["type"], self._subscriptions):
                batches.setdefault(base_url, []).append(row)
        for base_url, batch in batches.items():
            try:
                await self._post(base_url, [row["payload"] for row in batch])
            except (httpx.HTTPError, DeliveryRefused) as exc:
                failed.update({row["seq"]: f"{base_url}: {exc}"[:500] for row in batch})
        return failed

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
