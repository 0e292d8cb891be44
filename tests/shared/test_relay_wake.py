"""A relay woken by a commit lingers a moment before its pass, so the commits right behind the
first go in the same batch: one request per subscriber for a run of commits, not one each (under
a steady load a pass per commit carried an event or two, and every pass paid its claim, a
request per subscriber, the subscribers' transactions and the hand-over)."""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import outbox
from shared.db import new_metadata
from shared.events import new_event
from shared.jobs import PeriodicJob
from shared.outbox import HttpTransport, OutboxRelay, record_event
from shared.service_app import plumbing_tables
from tests.support.databases import sessions_on_tables
from tests.support.polling import until

SECRET = "relay-wake-test-secret-of-32-bytes!!"
KPI, SURVEY = "http://kpi.test", "http://survey.test"
METADATA = new_metadata()
TABLES = plumbing_tables(METADATA)
LINGER = 0.6
COMMITS = 8
APART = 0.03  # longer than an empty pass takes: without the linger each wake would run a pass of its own


async def test_wakes_right_behind_one_another_share_one_pass() -> None:
    passes: list[int] = []
    job = PeriodicJob("test", lambda: _counted(passes), interval_seconds=3600, linger_seconds=LINGER)
    job.start()
    try:
        await until(lambda: len(passes) == 1, "the pass at start")
        for _ in range(COMMITS):
            job.wake()
            await asyncio.sleep(APART)
        await asyncio.sleep(LINGER)
        assert len(passes) == 2
    finally:
        await job.stop()


async def _counted(passes: list[int]) -> int:
    passes.append(1)
    return 0


@pytest.fixture
async def sessions(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with sessions_on_tables(tmp_path_factory, "relay_wake", METADATA) as made:
        yield made


async def test_a_run_of_commits_each_waking_the_relay_reaches_a_subscriber_in_one_request(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "WAKE_LINGER_SECONDS", LINGER)  # room for a loaded machine's commits
    requests: Counter[str] = Counter()
    received: list[str] = []

    async def subscriber(request: httpx.Request) -> httpx.Response:
        requests[f"{request.url.scheme}://{request.url.host}"] += 1
        received.extend(event["id"] for event in json.loads(request.content))
        return httpx.Response(200, json={"outcomes": {}})

    transport = HttpTransport({"note.": [KPI, SURVEY]}, SECRET, httpx.AsyncClient(transport=httpx.MockTransport(subscriber)))
    relay = OutboxRelay(sessions, TABLES.outbox, TABLES.outbox_deliveries, transport, interval_seconds=3600)
    relay.start()
    try:
        await asyncio.sleep(0.2)  # its first pass, on an empty outbox
        published = []
        for number in range(COMMITS):
            event = new_event("/test", "note.created", None, {"n": number})
            async with sessions() as session, session.begin():
                await record_event(session, TABLES.outbox, event)
            relay.wake()
            published.append(event.id)
            await asyncio.sleep(APART)
        await until(lambda: len(received) == 2 * COMMITS, "every event at both subscribers")
        assert sorted(received) == sorted(published * 2)
        assert requests == {KPI: 1, SURVEY: 1}
    finally:
        await relay.stop()
