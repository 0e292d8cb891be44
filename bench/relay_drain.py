"""The outbox relay draining a backlog to three HTTP subscribers, next to a bare loop sending the same POSTs.

    flock /tmp/csloop-bench.lock .venv/bin/python -m bench.relay_drain [--events 100000] [--rounds 3]

Three subscribers, each a small aiohttp process that parses every batch it gets and acks it
(what a consumer must do before its own work, none of which is measured here). The producer:
`--events` events written into a PostgreSQL outbox (a database of its own) before the clock
starts, then the relay of `shared/outbox.py` in this process, timed until every event is
handed over, none waits in a delivery row and every subscriber has counted them all.

The reference, in the same process and round: a bare loop that reads the same outbox in the
same batches (keyset on seq, the payloads as text) and POSTs each batch to the three
subscribers at once with aiohttp, marking nothing. Ratio = relay events/s / reference events/s.
Three rounds, medians.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from bench.harness import asyncpg_dsn, database_base, write_result
from shared import outbox as outbox_module
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.db import create_engine, new_metadata, session_factory
from shared.events import new_event
from shared.migrations import ensure_database
from tests.support.databases import drop_postgres_databases
from tests.support.suite import free_port_base

SECRET = "relay-drain-bench-secret-of-at-least-32-bytes"
DRAIN_TIMEOUT_SECONDS = 600.0


def serve(port: int) -> None:
    """A subscriber that parses each batch and acks it; `GET /count` says how many events it got."""
    state = {"count": 0}

    async def events(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        state["count"] += len(body) if isinstance(body, list) else 1
        return web.json_response({"outcomes": {}})

    async def count(_request: web.Request) -> web.Response:
        return web.json_response(state)

    async def reset(_request: web.Request) -> web.Response:
        state["count"] = 0
        return web.json_response(state)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.add_routes([web.post("/internal/events", events), web.get("/count", count), web.post("/reset", reset)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)



async def publish(url: str, events: int) -> None:
    """A fresh outbox holding `events` events (about the size of a customer's), written by COPY."""
    metadata = new_metadata()
    outbox_module.outbox_table(metadata)
    outbox_module.outbox_deliveries_table(metadata)
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    await engine.dispose()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        records = []
        for n in range(events):
            row = outbox_module.outbox_row(new_event("/bench", "customer.created", f"customers/{n}", {
                "dealer_code": "D1", "org_path": "/OEM/DIST/D1/", "customer_id": f"00000000-0000-0000-0000-{n:012d}",
                "external_id": f"EXT-{n:07d}", "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}}))
            records.append((row["event_id"], row["type"], json.dumps(row["payload"]), row["created_at"],
                            row["next_attempt_at"], 0))
        await connection.copy_records_to_table(
            "outbox", records=records, columns=["event_id", "type", "payload", "created_at", "next_attempt_at", "attempts"])
        await connection.execute("VACUUM ANALYZE outbox")
    finally:
        await connection.close()


async def counts(client: aiohttp.ClientSession, bases: list[str]) -> list[int]:
    async def one(base: str) -> int:
        async with client.get(f"{base}/count") as response:
            return (await response.json())["count"]
    return list(await asyncio.gather(*map(one, bases)))


async def reset(client: aiohttp.ClientSession, bases: list[str]) -> None:
    for base in bases:
        async with client.post(f"{base}/reset"):
            pass


async def undelivered(connection: asyncpg.Connection) -> int:
    return await connection.fetchval("SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
                                      " + (SELECT count(*) FROM outbox_deliveries WHERE sent_at IS NULL)")


async def drain_by_relay(url: str, bases: list[str], events: int, batch_size: int) -> dict[str, Any]:
    metadata = new_metadata()
    outbox, deliveries = outbox_module.outbox_table(metadata), outbox_module.outbox_deliveries_table(metadata)
    engine = create_engine(url)
    relay = outbox_module.OutboxRelay(session_factory(engine), outbox, deliveries,
                                      outbox_module.HttpTransport({"customer.": bases}, SECRET), batch_size=batch_size)
    watcher = await asyncpg.connect(asyncpg_dsn(url))
    async with aiohttp.ClientSession() as client:
        await reset(client, bases)
        started = time.perf_counter()
        relay.start()
        try:
            while time.perf_counter() - started < DRAIN_TIMEOUT_SECONDS:
                if min(await counts(client, bases)) >= events and not await undelivered(watcher):
                    break
                await asyncio.sleep(0.05)
            seconds = time.perf_counter() - started
            got = await counts(client, bases)
        finally:
            await relay.stop()
            delivery_rows = await watcher.fetchval("SELECT count(*) FROM outbox_deliveries")
            await watcher.close()
            await engine.dispose()
    return {"seconds": seconds, "received": got, "delivery_rows": delivery_rows}


async def drain_by_bare_loop(url: str, bases: list[str], events: int, batch_size: int) -> dict[str, Any]:
    """The reference: the same batches read and POSTed to the three subscribers at once, nothing else."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    headers = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET, ttl_seconds=3600),
               "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as client:
        await reset(client, bases)

        async def post(base: str, body: bytes) -> None:
            async with client.post(f"{base}/internal/events", data=body, headers=headers) as response:
                assert response.status == 200, response.status
                await response.read()

        started = time.perf_counter()
        last = 0
        while True:
            rows = await connection.fetch("SELECT seq, payload::text AS payload FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
                                          last, batch_size)
            if not rows:
                break
            last = rows[-1]["seq"]
            body = ("[" + ",".join(row["payload"] for row in rows) + "]").encode()
            await asyncio.gather(*(post(base, body) for base in bases))
        seconds = time.perf_counter() - started
        got = await counts(client, bases)
    await connection.close()
    return {"seconds": seconds, "received": got}


async def run_round(url: str, bases: list[str], events: int, batch_size: int) -> dict[str, Any]:
    await publish(url, events)
    reference = await drain_by_bare_loop(url, bases, events, batch_size)
    relay = await drain_by_relay(url, bases, events, batch_size)
    assert min(reference["received"]) == events, reference
    assert min(relay["received"]) >= events, relay
    return {
        "relay_events_per_s": round(events / relay["seconds"]), "reference_events_per_s": round(events / reference["seconds"]),
        "ratio": round(reference["seconds"] / relay["seconds"], 3), "relay_seconds": round(relay["seconds"], 1),
        "delivery_rows": relay["delivery_rows"], "received": relay["received"],
    }


def wait_listening(bases: list[str]) -> None:
    async def ready() -> None:
        async with aiohttp.ClientSession() as client:
            for base in bases:
                while True:
                    try:
                        await counts(client, [base])
                        break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
    asyncio.run(ready())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200, help="the relay's batch size (the reference's too)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    port = free_port_base(3)
    bases = [f"http://127.0.0.1:{port + i}" for i in range(3)]
    servers = [subprocess.Popen([sys.executable, "-m", "bench.relay_drain", "--serve", str(port + i)]) for i in range(3)]
    url = database_base() + "_relaydrain"
    rounds = []
    try:
        wait_listening(bases)
        asyncio.run(drop_postgres_databases(database_base(), ["relaydrain"]))
        asyncio.run(ensure_database(url))
        for _ in range(args.rounds):
            rounds.append(asyncio.run(run_round(url, bases, args.events, args.batch)))
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    result = {
        "events": args.events, "subscribers": 3, "batch": args.batch, "load_average": os.getloadavg(),
        "relay_events_per_s": statistics.median(r["relay_events_per_s"] for r in rounds),
        "reference_events_per_s": statistics.median(r["reference_events_per_s"] for r in rounds),
        "ratio": statistics.median(r["ratio"] for r in rounds), "rounds": rounds,
    }
    write_result("relay_drain", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
