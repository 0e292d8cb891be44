"""Importing 100,000 customers through the gateway, next to PostgreSQL COPY of the same rows.

    flock /tmp/csloop-bench.lock .venv/bin/python -m bench.import_customers [--rows 100000] [--rounds 3]

Each round: a fresh suite; raw COPY of the file into a bare table and COPY of the same rows as
customer records into a table of the customers table's shape (the references); the import
through the gateway (creating), then timed from its answer until it is fully delivered: the
customer service's outbox drained (every event handed over, no delivery row waiting) and
every subscriber of `customer.` (the survey service, the gateway for webhooks) has applied
every event (its processed-events table); then the same file again (every row an update).
`--not-first`: the dealer has one customer before the import, whom the file does not name: its
rows are new customers all the same, inserted along the way (repository_bulk.PostgresWriter).
The KPI service subscribes to no `customer.` event (cli/topology.py), so an import adds no
KPI facts: its outbox is counted with the others, drained too. Medians of the rounds.
"""

import argparse
import asyncio
import csv
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import RunningSuite, database_base, start_suite, write_result

SUBSCRIBERS = ("survey", "gateway")  # who consumes `customer.` (cli/topology.py)
SERVICES_WITH_OUTBOX = ("customer", "survey", "complaint", "kpi")
DELIVERY_TIMEOUT_SECONDS = 600.0

FIELDS = ["external_id", "name", "phone", "email", "birth_date", "city", "consent_survey", "consent_marketing",
          "consent_share_with_manufacturer"]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for index in range(rows):
            writer.writerow([f"EXT-{index:07d}", f"客户{index}", f"13{index % 10}{index:08d}"[:11], f"c{index}@example.cn",
                             f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                             "上海", "true", "false", "true"])


def import_through_gateway(url: str, key: str, dealer: str, path: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    with path.open("rb") as body:
        response = httpx.post(f"{url}/v1/customers/import", params={"dealer_code": dealer}, content=body,
                              headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}, timeout=1800)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


async def copy_reference(path: Path) -> float:
    """Raw COPY of the same file into a table of the same columns: the floor of what loading costs."""
    url = make_url(database_base()).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute("DROP TABLE IF EXISTS bench_copy_reference")
        await connection.execute(
            "CREATE TABLE bench_copy_reference (external_id text primary key, name text, phone text, email text,"
            " birth_date date, city text, consent_survey bool, consent_marketing bool, consent_share_with_manufacturer bool)"
        )
        started = time.perf_counter()
        with path.open("rb") as source:
            await connection.copy_to_table("bench_copy_reference", source=source, format="csv", header=True)
        elapsed = time.perf_counter() - started
        await connection.execute("DROP TABLE bench_copy_reference")
        return elapsed
    finally:
        await connection.close()


async def copy_into_customers_shape(path: Path) -> float:
    """COPY of the same rows, as complete customer records, into a table with the customers
    table's columns, constraints and indexes: what storing them costs before any of our code."""
    url = make_url(database_base() + "_customer").set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    now = datetime.now(UTC)
    with path.open(newline="") as source:
        records = [(uuid.uuid4(), "SHAPE", "/BENCH/SHAPE/", now, now, row["external_id"], row["name"], "+86" + row["phone"],
                    row["email"], date.fromisoformat(row["birth_date"]), row["city"], True, False, True, None, 1)
                   for row in csv.DictReader(source)]
    try:
        await connection.execute("DROP TABLE IF EXISTS bench_customers_shape")
        await connection.execute("CREATE TABLE bench_customers_shape (LIKE customers INCLUDING DEFAULTS "
                                 "INCLUDING CONSTRAINTS INCLUDING INDEXES)")
        columns = [r["attname"] for r in await connection.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum")]
        started = time.perf_counter()
        await connection.copy_records_to_table("bench_customers_shape", records=records, columns=columns)
        elapsed = time.perf_counter() - started
        await connection.execute("DROP TABLE bench_customers_shape")
        return elapsed
    finally:
        await connection.close()


async def delivery_state(running: RunningSuite, event_type: str) -> tuple[int, int]:
    """(events not yet delivered over every outbox, the fewest `event_type` events a subscriber has applied)."""
    pending, applied = 0, []
    for component in running.suite.components:
        if component.name not in (*SERVICES_WITH_OUTBOX, *SUBSCRIBERS):
            continue
        url = make_url(running.suite.database_url(component)).set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            if component.name in SERVICES_WITH_OUTBOX:
                pending += await connection.fetchval(
                    "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
                    " + (SELECT count(*) FROM outbox_deliveries WHERE sent_at IS NULL)")
            if component.name in SUBSCRIBERS:
                applied.append(await connection.fetchval("SELECT count(*) FROM processed_events WHERE type = $1", event_type))
        finally:
            await connection.close()
    return pending, min(applied)


def wait_delivered(running: RunningSuite, rows: int) -> float | None:
    """Seconds from now until every outbox is drained and every subscriber has applied `rows` created events."""
    started = time.perf_counter()
    while time.perf_counter() - started < DELIVERY_TIMEOUT_SECONDS:
        pending, applied = asyncio.run(delivery_state(running, "customer.created"))
        if not pending and applied >= rows:
            return time.perf_counter() - started
        time.sleep(0.25)
    return None


def one_round(path: Path, rows: int, *, delivery: bool = True, not_first: bool = False) -> dict:
    running = start_suite()
    try:
        dealer = running.network.org("dealer", running.network.org("distributor"))
        if not_first:  # one customer already: the import looks every row up, as any after a dealer's first
            seed = path.with_name("seed.csv")
            seed.write_text(",".join(FIELDS) + "\nSEED-1,Seed,,,,,true,false,true\n")
            assert import_through_gateway(running.network.url, dealer.key, dealer.code, seed)[1]["created"] == 1
        copy_seconds = asyncio.run(copy_reference(path))
        shape_seconds = asyncio.run(copy_into_customers_shape(path))
        gateway_seconds, result = import_through_gateway(running.network.url, dealer.key, dealer.code, path)
        assert result["created"] == rows, result
        delivered_seconds = wait_delivered(running, rows) if delivery else None
        update_seconds, updated = import_through_gateway(running.network.url, dealer.key, dealer.code, path)
        assert updated["updated"] == rows, updated
    finally:
        running.stop()
    return {
        "copy_rows_per_s": round(rows / copy_seconds), "gateway_create_rows_per_s": round(rows / gateway_seconds),
        "gateway_update_rows_per_s": round(rows / update_seconds),
        "copy_into_customers_shape_rows_per_s": round(rows / shape_seconds),
        "ratio_to_copy": round(copy_seconds / gateway_seconds, 3),
        "ratio_to_copy_into_customers_shape": round(shape_seconds / gateway_seconds, 3),
        "import_seconds": round(gateway_seconds, 2),
        "delivered_seconds_after_answer": round(delivered_seconds, 1) if delivered_seconds is not None else None,
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-delivery", action="store_true", help="the imports only, not waiting for the consumers")
    parser.add_argument("--not-first", action="store_true",
                        help="the dealer has a customer before the import, whom the file does not name")
    args = parser.parse_args()
    rows = args.rows
    workdir = Path(tempfile.mkdtemp(prefix="csloop-import-"))
    path = workdir / "customers.csv"
    write_csv(path, rows)
    rounds = []
    for _ in range(args.rounds):
        rounds.append(one_round(path, rows, delivery=not args.no_delivery, not_first=args.not_first))
        print(rounds[-1], flush=True)
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]
               if key != "load_average" and None not in (r[key] for r in rounds)}
    write_result("import_customers", {"rows": rows, "file_mb": round(path.stat().st_size / 2**20, 1),
                                      "not_first": args.not_first, **medians, "rounds": rounds})


if __name__ == "__main__":
    main()
