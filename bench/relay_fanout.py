"""The outbox relay's events/s from one producer to three HTTP subscribers, one of them down.

`python -m bench.relay_fanout [--events 5000] [--rate 200] [--seconds 10] [--down refused|hung]`

Three subscribers are small aiohttp apps, each its own process, that record the id and the
arrival time of every event they get. One is down: `refused` (nothing listens on its port)
or `hung` (its process is stopped with SIGSTOP: the kernel accepts connections, nothing
answers). The producer is a relay in this process on a PostgreSQL outbox (a database of its
own). Two phases: a backlog of `--events` written before the relay starts (events/s: the
backlog over the time until both live subscribers have it all), then an open loop of `--rate`
events/s for `--seconds` (lag: from the producer's commit to the arrival, at the live ones).

The relay is built from whatever `shared/outbox.py` the checkout has: with the code before
per-subscriber delivery checked out (`git checkout <base> -- shared/outbox.py`), the same
command gives the before figure.
"""

import argparse
import asyncio
import inspect
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
from aiohttp import web

from bench.harness import database_base, write_result
from shared import outbox as outbox_module
from shared.db import create_engine, new_metadata, session_factory
from shared.events import new_event
from shared.migrations import ensure_database
from tests.support.databases import drop_postgres_databases
from tests.support.suite import free_port_base

SECRET = "relay-bench-secret-of-at-least-32-bytes-long"
BACKLOG_TIMEOUT_SECONDS = 120.0


def serve(port: int) -> None:
    """A subscriber: records (event id, arrival time); `GET /received` hands them over."""
    received: dict[str, float] = {}

    async def events(request: web.Request) -> web.Response:
        body = await request.json()
        now = time.time()
        for event in body if isinstance(body, list) else [body]:
            received.setdefault(event["id"], now)
        return web.json_response({"outcomes": {}})

    async def report(_request: web.Request) -> web.Response:
        return web.json_response(received)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes([web.post("/internal/events", events), web.get("/received", report)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Producer:
    """The outbox and its relay, built from the checked-out `shared/outbox.py` (before or after)."""

    def __init__(self, url: str, subscribers: list[str]) -> None:
        metadata = new_metadata()
        self.outbox = outbox_module.outbox_table(metadata)
        deliveries_table = getattr(outbox_module, "outbox_deliveries_table", None)
        self.deliveries = deliveries_table(metadata) if deliveries_table else None
        self.metadata = metadata
        self.engine = create_engine(url)
        self.sessions = session_factory(self.engine)
        transport = outbox_module.HttpTransport({"bench.": subscribers}, SECRET)
        tables = [self.outbox, self.deliveries] if "deliveries" in inspect.signature(outbox_module.OutboxRelay).parameters \
            else [self.outbox]
        self.relay = outbox_module.OutboxRelay(self.sessions, *tables, transport, interval_seconds=0.5)
        self.committed: dict[str, float] = {}

    async def create_tables(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def publish(self, count: int) -> None:
        events = [new_event("/bench", "bench.happened", None, {"n": n}) for n in range(count)]
        async with self.sessions() as session, session.begin():
            for start in range(0, count, 1000):
                await session.execute(self.outbox.insert(), [outbox_module.outbox_row(e) for e in events[start:start + 1000]])
        now = time.time()
        self.committed.update({event.id: now for event in events})
        self.relay.wake()


async def received(client: httpx.AsyncClient, base: str) -> dict[str, float]:
    return (await client.get(f"{base}/received")).json()


async def wait_for(client: httpx.AsyncClient, live: list[str], ids: set[str], timeout: float) -> float | None:
    """Seconds until every live subscriber has every id (None: not within the timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all([ids <= set(await received(client, base)) for base in live]):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def run(args: argparse.Namespace, live: list[str], down: str) -> dict[str, Any]:
    url = database_base() + "_relay"
    await drop_postgres_databases(database_base(), ["relay"])
    await ensure_database(url)
    producer = Producer(url, [*live[:1], down, *live[1:]])  # the one down sits between the two live ones
    await producer.create_tables()
    async with httpx.AsyncClient(timeout=30) as client:
        await producer.publish(args.events)
        backlog = set(producer.committed)
        producer.relay.start()
        started = time.monotonic()
        took = await wait_for(client, live, backlog, BACKLOG_TIMEOUT_SECONDS)
        delivered = min([len(backlog & set(await received(client, base))) for base in live])
        events_per_second = delivered / (took if took is not None else time.monotonic() - started)

        before = set(producer.committed)
        loop_started = time.monotonic()
        for tick in range(int(args.rate * args.seconds / 10)):
            await asyncio.sleep(max(0.0, loop_started + tick * 10 / args.rate - time.monotonic()))
            await producer.publish(10)
        steady = set(producer.committed) - before
        await wait_for(client, live, steady, 60.0)
        lags = sorted(
            (arrivals[event_id] - producer.committed[event_id]) * 1000
            for arrivals in [await received(client, base) for base in live] for event_id in steady if event_id in arrivals
        )
        missing = 2 * len(steady) - len(lags)
    await producer.relay.stop()
    await producer.engine.dispose()
    return {
        "backlog_events": args.events, "backlog_seconds": round(took, 2) if took is not None else None,
        "events_per_s": round(events_per_second), "steady_rate": args.rate, "steady_seconds": args.seconds,
        "lag_p50_ms": round(statistics.median(lags)) if lags else None,
        "lag_p95_ms": round(lags[int(0.95 * (len(lags) - 1))]) if lags else None,
        "lag_max_ms": round(lags[-1]) if lags else None, "steady_missing": missing,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--down", choices=["refused", "hung"], default="refused")
    parser.add_argument("--label", default="", help="a name for the result file, e.g. before / after")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    port = free_port_base(3)
    bases = [f"http://127.0.0.1:{port + i}" for i in range(3)]
    servers = [subprocess.Popen([sys.executable, "-m", "bench.relay_fanout", "--serve", str(port + i)])
               for i in range(3 if args.down == "hung" else 2)]
    live, down = [bases[0], bases[1]], bases[2]
    try:
        with httpx.Client() as client:
            for base in bases[:len(servers)]:
                while True:
                    try:
                        client.get(f"{base}/received")
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
        if args.down == "hung":
            os.kill(servers[2].pid, signal.SIGSTOP)
        result = asyncio.run(run(args, live, down))
    finally:
        for server in servers:
            os.kill(server.pid, signal.SIGCONT)
            server.terminate()
            server.wait()
    result = {"down": args.down, "code": "per-subscriber" if hasattr(outbox_module, "outbox_deliveries_table") else "per-event",
              **result}
    write_result(f"relay_fanout_{args.down}{'_' + args.label if args.label else ''}", result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
