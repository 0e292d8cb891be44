"""NATS JetStream as the event transport, for deployments that outgrow HTTP fan-out.

Publishing: the stream is the outbox's one subscriber (one delivery row per event, see
`shared.outbox`); the relay hands claimed deliveries to `NatsTransport`, which publishes each to
`<prefix>.<event type>` with the event id as `Nats-Msg-Id`, so JetStream drops a duplicate
that a relay sends again within the stream's duplicate window. Consuming: each service reads
the stream through a durable pull consumer named after it and applies events through the
same idempotent `EventConsumer` as the HTTP path, acknowledging only after the commit; an
event that fails is redelivered later. De-duplication therefore holds twice: by event id in
the stream, and by event id in the consumer's processed-events table.
"""

import asyncio
import logging
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError
from sqlalchemy.exc import SQLAlchemyError

from shared.consumer import EventConsumer
from shared.db import HeldLease
from shared.events import CloudEvent

logger = logging.getLogger("csloop.nats")

FETCH_BATCH = 100
# How long a batch's publications wait for the stream's acknowledgements (JetStream's own default
# for a publish); one not acknowledged by then is sent again in a later pass (the stream's
# duplicate window drops it if the first one was stored after all).
ACK_TIMEOUT_SECONDS = 5.0
REDELIVERY_DELAY_SECONDS = 5.0


async def _jetstream(url: str, stream: str, subject_prefix: str, replicas: int) -> tuple[Any, Any]:
    connection = await nats.connect(url, name="csloop", max_reconnect_attempts=-1)
    jetstream = connection.jetstream()
    # `replicas` copies of the stream on as many servers of a NATS cluster (3 in deploy/k8s), so
    # losing the server that holds it loses no event; 1 for a single server.
    config = StreamConfig(name=stream, subjects=[f"{subject_prefix}.>"], duplicate_window=120.0, num_replicas=replicas)
    try:
        await jetstream.add_stream(config)
    except BadRequestError:  # it exists with another configuration: bring it to ours
        await jetstream.update_stream(config)
    return connection, jetstream


class NatsTransport:
    """Every event goes to the stream once; JetStream gives each service its own durable consumer,
    so one service that is down holds up no other (each acknowledges on its own)."""

    def __init__(self, url: str, stream: str, subject_prefix: str, *, stream_replicas: int = 1) -> None:
        self._url, self._stream, self._prefix, self._replicas = url, stream, subject_prefix, stream_replicas
        self._connection: Any = None
        self._jetstream: Any = None

    @property
    def all_subscribers(self) -> list[str]:
        return [f"nats:{self._stream}"]

    def subscribers(self, event_type: str) -> list[str]:
        return self.all_subscribers

    async def send(self, subscriber: str, rows: list[Any]) -> dict[int, str]:
        failed: dict[int, str] = {}
        try:
            if self._jetstream is None:
                self._connection, self._jetstream = await _jetstream(self._url, self._stream, self._prefix, self._replicas)
        except Exception as exc:  # NATS down: every row waits for the next attempt
            return {row["seq"]: f"NATS unreachable: {exc}"[:500] for row in rows}
        # Every row published before any acknowledgement is awaited: one round trip per batch, not
        # per event (awaited one by one, 100,000 events took 117 s to reach the stream). The server
        # stores them in the order they came on the connection. Each row's payload is its
        # CloudEvent's JSON text (shared.outbox); its id lets the stream drop a row sent twice.
        acks: dict[int, asyncio.Future[Any]] = {}
        for row in rows:
            try:
                acks[row["seq"]] = await self._jetstream.publish_async(
                    f"{self._prefix}.{row['type']}", row["payload"].encode(),
                    headers={"Nats-Msg-Id": row["event_id"]}, wait_stall=ACK_TIMEOUT_SECONDS,
                )
            except Exception as exc:  # this row is retried; the others stand
                failed[row["seq"]] = f"NATS publish failed: {exc}"[:500]
        if acks:
            await asyncio.wait(acks.values(), timeout=ACK_TIMEOUT_SECONDS)
        for seq, ack in acks.items():
            if not ack.done():
                ack.cancel()
                failed[seq] = f"NATS did not acknowledge within {ACK_TIMEOUT_SECONDS:.0f} s"
            elif (error := ack.exception()) is not None:
                failed[seq] = f"NATS publish failed: {error!r}"[:500]
        return failed

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


class NatsEventSubscriber:
    """Feeds the service's `EventConsumer` from its durable JetStream consumer; with `lease`, only
    while this process holds it (one puller among the service's replicas)."""

    def __init__(self, consumer: EventConsumer, url: str, stream: str, subject_prefix: str, durable: str, *,
                 stream_replicas: int = 1, lease: HeldLease | None = None) -> None:
        self._consumer = consumer
        self._url, self._stream, self._prefix, self._durable = url, stream, subject_prefix, durable
        self._replicas = stream_replicas
        self._lease = lease
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nats-subscriber")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._lease is not None:
            await self._lease.release()  # a standby replica pulls from its next ask
        if self._connection is not None:
            await self._connection.close()

    async def _run(self) -> None:
        while True:
            try:
                self._connection, jetstream = await _jetstream(self._url, self._stream, self._prefix, self._replicas)
                subscription = await jetstream.pull_subscribe(f"{self._prefix}.>", durable=self._durable, stream=self._stream)
                await self._drain(subscription)
            except asyncio.CancelledError:
                raise
            except Exception:  # NATS restarting: connect again
                logger.exception("NATS subscriber failed; reconnecting")
                await asyncio.sleep(1.0)

    async def _drain(self, subscription: Any) -> None:
        while True:
            if self._lease is not None and not await self._holds(self._lease):
                await asyncio.sleep(self._lease.retry_seconds)  # a standby: ask again when the lease answers anew
                continue
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=1.0)
            except NatsTimeout:
                continue
            await self._apply_all(messages)

    @staticmethod
    async def _holds(lease: HeldLease) -> bool:
        """Whether this replica is the one to pull now. Unable to ask (the database is down, so no
        batch could be applied either): not now."""
        try:
            return await lease.held()
        except (SQLAlchemyError, OSError) as exc:
            logger.warning("could not ask for the consumer lease, not pulling until the database answers: %s", exc)
            return False

    async def _apply_all(self, messages: list[Any]) -> None:
        """The fetched batch in one transaction when it goes through; else message by message."""
        try:
            events = [CloudEvent.model_validate_json(message.data) for message in messages]
            await self._consumer.handle_together(events)
        except Exception:
            for message in messages:
                await self._apply(message)
            return
        for message in messages:
            await message.ack()

    async def _apply(self, message: Any) -> None:
        try:
            event = CloudEvent.model_validate_json(message.data)
        except ValueError:
            logger.error("dropping a message that is not a CloudEvent: %r", message.data[:200])
            await message.term()  # redelivering it would fail the same way forever
            return
        try:
            outcome = await self._consumer.handle(event)
        except Exception:
            logger.exception("event from NATS failed; it will be redelivered")
            await message.nak(delay=REDELIVERY_DELAY_SECONDS)
            return
        logger.info("event %s %s: %s", event.type, event.id, outcome)
        await message.ack()
