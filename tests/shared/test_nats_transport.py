"""The NATS transport publishes a batch's events before it awaits their acknowledgements
(shared.nats_transport.NatsTransport.send): each event reaches the stream once, in order, with
its stored text; an event the stream does not take is reported for a later pass, not lost.
Against the NATS JetStream server of the machine (CI starts it)."""

import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.errors import NotFoundError

from shared.events import new_event
from shared.nats_transport import NatsTransport
from shared.outbox import outbox_row
from tests.support.suite import delete_nats_stream

NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
async def transport() -> AsyncIterator[tuple[NatsTransport, str, str]]:
    stream = f"TEST_TRANSPORT_{uuid.uuid4().hex[:8].upper()}"
    prefix = f"test.{stream.lower()}"
    made = NatsTransport(NATS_URL, stream, prefix)
    try:
        yield made, stream, prefix
    finally:
        await made.close()
        with contextlib.suppress(NotFoundError):  # a test deleted it already
            await delete_nats_stream(stream)


def rows(count: int, first_seq: int = 1) -> list[dict]:
    """Relay rows as shared.outbox reads them: the payload is the CloudEvent's stored JSON text."""
    made = []
    for n in range(count):
        row = outbox_row(new_event("/test", "note.created", None, {"n": n}))
        made.append({"seq": first_seq + n, "type": row["type"], "event_id": row["event_id"],
                     "payload": json.dumps(row["payload"])})
    return made


async def stored(stream: str, prefix: str) -> list[bytes]:
    connection = await nats.connect(NATS_URL)
    try:
        subscription = await connection.jetstream().pull_subscribe(f"{prefix}.>", stream=stream)
        messages = await subscription.fetch(1000, timeout=2)
        return [message.data for message in messages]
    finally:
        await connection.close()


async def test_a_batch_reaches_the_stream_once_in_order_as_stored(transport: tuple[NatsTransport, str, str]) -> None:
    nats_transport, stream, prefix = transport
    batch = rows(300)
    assert await nats_transport.send(f"nats:{stream}", batch) == {}
    assert await nats_transport.send(f"nats:{stream}", batch[:50]) == {}  # sent again: the stream drops them
    assert await stored(stream, prefix) == [row["payload"].encode() for row in batch]


async def test_events_the_stream_does_not_take_are_reported_each_for_a_later_pass(
        transport: tuple[NatsTransport, str, str]) -> None:
    nats_transport, stream, _prefix = transport
    assert await nats_transport.send(f"nats:{stream}", rows(1)) == {}  # connected, the stream made
    await delete_nats_stream(stream)  # no stream answers for the subjects now
    batch = rows(20, first_seq=2)
    failed = await nats_transport.send(f"nats:{stream}", batch)
    assert sorted(failed) == [row["seq"] for row in batch]
    assert all(message.startswith("NATS") for message in failed.values())
