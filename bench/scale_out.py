"""Requests per second of the mixed load with one and with two replicas of every process (issue 19 item 8).

    flock /tmp/csloop-bench.lock .venv/bin/python -m bench.scale_out [--rounds 2] [--seconds 40] [--rate 120]

Each round starts the suite on fresh PostgreSQL databases with NATS JetStream carrying the events
(a stream of its own), once with `--replicas 1` and once with `--replicas 2`, in alternating order,
and drives bench/load_mixed.py's mix through every gateway (taken in turn) at a rate above what
the machine serves, so what is measured is the throughput: the load's recorded requests answered 2xx
per second (a survey submission is two: the invitation, then the answers; an operation's
preliminary reads are not counted). The ratio two/one is the figure; on this 2-core machine the
goal is no loss beyond 15 %, not a gain (the processes share the same two cores). Under this load
events back up in the outboxes and consumers, so each run also times the drain after the load
(until every outbox is sent and every durable consumer has nothing pending), and the ratio is
given again over the load's time plus the drain's.
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg
import nats
from nats.js.errors import NotFoundError
from sqlalchemy.engine import make_url

from bench.harness import (AutovacuumStandIn, asyncpg_dsn, cpu_seconds, cpu_seconds_of_commands, database_base,
                           deployed_transport, server_counters, start_suite, write_result)
from bench.load_mixed import MixedLoad, prepare
from cli.topology import urls_of
from tests.support.suite import delete_nats_stream


def one_run(replicas: int, rate: float, seconds: float, analyze_every: float | None) -> dict:
    stream = f"BENCH_SCALE_{uuid.uuid4().hex[:8]}"
    running = start_suite(replicas=replicas, extra_env=deployed_transport(stream))
    try:
        dealers, survey = prepare(running.network, dealers=4, customers_per_dealer=400)
        load = MixedLoad(urls_of(running.suite.components[0], running.suite.port_base, replicas), dealers)
        load.survey_id, load.owner_key = survey, running.network.manufacturer.key
        load_before = os.getloadavg()[0]
        cpu_before = cpu_by_part(running.suite.processes)
        counters_before = asyncio.run(server_counters(database_base()))
        started = time.perf_counter()
        if analyze_every:
            with AutovacuumStandIn([c.name for c in running.suite.components], analyze_every):
                ledger = asyncio.run(load.run(rate, seconds, concurrency=32))
        else:
            ledger = asyncio.run(load.run(rate, seconds, concurrency=32))
        elapsed = time.perf_counter() - started
        cpu_after = cpu_by_part(running.suite.processes)
        counters = asyncio.run(server_counters(database_base()))
        counters = {name: value - counters_before[name] for name, value in counters.items()}
        drained_after = asyncio.run(drained(stream, [c.name for c in running.suite.components]))
    finally:
        running.stop()
        asyncio.run(delete_nats_stream(stream))
    report = ledger.report()
    ok = sum(kind["outcomes"].get("ok", 0) for kind in report["kinds"].values())
    errors = sum(kind["errors"] for kind in report["kinds"].values())
    cpu_ms_per_ok = {part: round((cpu_after[part] - cpu_before[part]) * 1000 / max(ok, 1), 2) for part in cpu_after}
    return {"replicas": replicas, "ok_requests_per_s": round(ok / elapsed, 1), "errors": errors,
            # What the load left to do: events still in an outbox or a consumer when it stopped.
            "drained_after_s": round(drained_after, 1),
            "ok_requests_per_s_with_drain": round(ok / (elapsed + drained_after), 1),
            "cpu_ms_per_ok_request": cpu_ms_per_ok, "cpu_cores_busy": round(sum(
                cpu_after[part] - cpu_before[part] for part in cpu_after) / elapsed, 2),
            "postgres_per_ok_request": {name: round(value / max(ok, 1), 2) for name, value in counters.items()},
            "late_starts": report["late_starts"], "load_average": [load_before, os.getloadavg()[0]],
            "p99_ms": {kind: values["p99_ms"] for kind, values in report["kinds"].items()}}


async def drained(stream: str, components: list[str], timeout: float = 300.0) -> float:
    """Seconds until every process's outbox has no unsent event and every durable consumer of the
    stream (one per process, named after it) has nothing pending or unacknowledged."""
    started = time.monotonic()
    base = make_url(database_base())
    connection = await nats.connect("nats://127.0.0.1:4222")
    try:
        jetstream = connection.jetstream()
        while time.monotonic() - started < timeout:
            unsent = 0
            for name in components:
                database = await asyncpg.connect(asyncpg_dsn(base.set(database=f"{base.database}_{name}").render_as_string(
                    hide_password=False)))
                try:
                    if await database.fetchval("SELECT to_regclass('outbox')") is not None:
                        unsent += await database.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                finally:
                    await database.close()
            pending = 0
            for name in components:
                try:
                    consumer = await jetstream.consumer_info(stream, name)
                except NotFoundError:  # a process with no event handler reads no stream
                    continue
                pending += consumer.num_pending + consumer.num_ack_pending
            if not unsent and not pending:
                break
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    return time.monotonic() - started


def cpu_by_part(processes: dict) -> dict[str, float]:
    """CPU seconds so far of each component's processes (all its replicas), of PostgreSQL, NATS and
    Redis, and of this process (the load's clients): where a request's cost goes with more replicas."""
    parts: dict[str, list[int]] = {}
    for name, process in processes.items():
        parts.setdefault(name.split("-")[0], []).append(process.pid)
    used = {part: cpu_seconds(*pids) for part, pids in parts.items()}
    times = os.times()
    return used | {"postgres": cpu_seconds_of_commands("postgres"), "nats": cpu_seconds_of_commands("nats-server"),
                   "redis": cpu_seconds_of_commands("redis-server"), "load": times.user + times.system}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--rate", type=float, default=120.0, help="operations started per second (above capacity)")
    parser.add_argument("--analyze-every", type=float, default=None, metavar="SECONDS",
                        help="ANALYZE every database this often during the load, as autovacuum would (harness.AutovacuumStandIn)")
    args = parser.parse_args()
    runs = []
    for round_number in range(args.rounds):
        order = (1, 2) if round_number % 2 == 0 else (2, 1)
        for replicas in order:
            runs.append(one_run(replicas, args.rate, args.seconds, args.analyze_every))
            print(runs[-1], flush=True)
    by = {n: statistics.median(r["ok_requests_per_s"] for r in runs if r["replicas"] == n) for n in (1, 2)}
    drained_by = {n: statistics.median(r["ok_requests_per_s_with_drain"] for r in runs if r["replicas"] == n)
                  for n in (1, 2)}
    result = {"rate": args.rate, "seconds": args.seconds, "analyze_every": args.analyze_every, "runs": runs, "median_ok_requests_per_s": by,
              "two_over_one": round(by[2] / by[1], 2), "median_ok_requests_per_s_with_drain": drained_by,
              "two_over_one_with_drain": round(drained_by[2] / drained_by[1], 2)}
    write_result("scale_out", result)
    print(f"    scale_out/two_over_one_replicas: {result['two_over_one']}   # {by[1]:.1f} vs {by[2]:.1f} 2xx requests/s")
    print(f"    scale_out/two_over_one_with_drain: {result['two_over_one_with_drain']}   # counting the time until"
          f" every event was delivered: {drained_by[1]:.1f} vs {drained_by[2]:.1f}")
    return 1 if any(r["errors"] for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
