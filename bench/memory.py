"""Resident memory of every process of the suite, before and after the loads (issue 12 item 7).

    .venv/bin/python -m bench.memory [--rows 100000] [--rate 20] [--seconds 30] [--nats]

The suite on PostgreSQL (bench/harness.py); the RSS of each process (VmRSS) when it is ready
and seeded, after a 100,000-row customer import through the gateway, once every outbox has
drained its events, and after the mixed load of bench/load_mixed.py. With --nats, the events go
over NATS JetStream as in a deployment (every process then also holds nats-py and aiohttp). The
goal: every process under 150 MB after the loads, and what the import took given back once done.
"""

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench.harness import RunningSuite, deployed_transport, start_suite, write_result
from bench.import_customers import import_through_gateway, write_csv
from bench.load_mixed import MixedLoad, prepare
from tests.support.suite import delete_nats_stream

GOAL_MB = 150
SERVICES_WITH_OUTBOX = ("customer", "survey", "complaint", "kpi")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def snapshot(running: RunningSuite) -> dict[str, float]:
    return {name: rss_mb(process.pid) for name, process in running.suite.processes.items()}


async def undelivered(running: RunningSuite) -> int:
    """Events not yet fanned out or not yet delivered, over every service's outbox."""
    total = 0
    for component in running.suite.components:
        if component.name not in SERVICES_WITH_OUTBOX:
            continue
        url = make_url(running.suite.database_url(component)).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            total += await connection.fetchval(
                "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
                " + (SELECT count(*) FROM outbox_deliveries WHERE sent_at IS NULL)")
        finally:
            await connection.close()
    return total


def wait_drained(running: RunningSuite, timeout: float = 600) -> float:
    started = time.perf_counter()
    while asyncio.run(undelivered(running)) and time.perf_counter() - started < timeout:
        time.sleep(1)
    return round(time.perf_counter() - started, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--nats", action="store_true", help="events over NATS JetStream (the HTTP relay otherwise)")
    args = parser.parse_args()
    stream = f"BENCH_MEMORY_{uuid.uuid4().hex[:8]}"
    running = start_suite(extra_env=deployed_transport(stream) if args.nats else None)
    phases: dict[str, dict[str, float]] = {}
    try:
        dealers, survey = prepare(running.network, 2)
        wait_drained(running)
        phases["ready"] = snapshot(running)
        importer = running.network.org("dealer", running.network.org("distributor"))
        with tempfile.TemporaryDirectory() as scratch:
            csv_file = Path(scratch) / "customers.csv"
            write_csv(csv_file, args.rows)
            import_seconds, _ = import_through_gateway(running.network.url, importer.key, importer.code, csv_file)
        phases["after_import"] = snapshot(running)
        drain_seconds = wait_drained(running)
        phases["after_drain"] = snapshot(running)
        load = MixedLoad(running.network.url, dealers)
        load.survey_id, load.owner_key = survey, running.network.manufacturer.key
        asyncio.run(load.run(args.rate, args.seconds))
        wait_drained(running)
        phases["after_mixed_load"] = snapshot(running)
    finally:
        running.stop()
        if args.nats:
            asyncio.run(delete_nats_stream(stream))
    final = phases["after_mixed_load"]
    result = {
        "rss_mb": phases, "goal_mb": GOAL_MB, "transport": "nats" if args.nats else "http",
        "import_rows": args.rows, "import_seconds": round(import_seconds, 1),
        "drain_seconds_after_import": drain_seconds,
        "import_growth_kept_mb": {name: round(phases["after_drain"][name] - phases["ready"][name], 1) for name in final},
        "over_goal": sorted(name for name, mb in final.items() if mb >= GOAL_MB),
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
    }
    write_result("memory", result)
    return 1 if result["over_goal"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
