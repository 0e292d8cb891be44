"""The lifecycle and value job at scale (issue 16 item 2): one run over 1,000,000 customers and
5,000,000 service visits, against one SQL statement computing the same RFM quintiles.

    flock /tmp/csloop-bench.lock .venv/bin/python -m bench.lifecycle [--customers 1000000] [--visits 5000000] [--reuse] \
        [--database postgresql+asyncpg://postgres@127.0.0.1:5433/csloopbench_lifecycle]

500 dealers under 10 distributors. Each customer has 0 to 10 closed visits (5 on average)
spread over the last four years at random (seeded), amounts 100.00 to 3,000.00 yuan; one in
three accepts marketing. The rows are loaded with COPY as the superuser (not measured); the
job runs in this process as the plain role `csloop_app`, so it pays row-level security as the
service does. Measured, on the same database:
- the first run (every customer new to customer_standing: a lifecycle.changed for each one
  with a visit), then the steady state, a second run a day later (the daily job);
- the reference: one SELECT computing the same quintiles (services/customer/repository_standing.py
  QUINTILES_ONLY_SQL), its time next to the job's standing part;
- the win-back follow-ups of the first run (a page of 1,000 candidates per transaction, each
  page's follow-ups and their events written set-based: followups.schedule_many).
The database is `csloopbench_lifecycle` (`--database` names another); `--reuse` keeps a complete
earlier load of as many customers (and drops what a previous run computed).
"""

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.engine import make_url

from bench.harness import asyncpg_dsn, previous_load, write_result
from services.customer import standing
from services.customer.app import MIGRATIONS
from services.customer.repository_standing import StandingRepository
from shared.auth import system_principal
from shared.db import create_engine, session_factory
from shared.migrations import upgrade
from tests.support.databases import app_role_url

DEALERS, DISTRIBUTORS = 500, 10
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/csloopbench_lifecycle"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SPAN_SECONDS = 4 * 365 * 86400
CUSTOMER_COLUMNS = ("id", "dealer_code", "org_path", "created_at", "updated_at", "external_id", "name", "phone",
                    "consent_survey", "consent_marketing", "consent_share_with_manufacturer", "version")
VISIT_COLUMNS = ("id", "dealer_code", "org_path", "created_at", "updated_at", "ro_number", "vin", "customer_id",
                 "visit_type", "opened_at", "closed_at", "symptom_codes", "op_codes", "amount_minor", "owner_verified",
                 "version")



def dealer_of(n: int) -> tuple[str, str]:
    code = f"DLR-{n % DEALERS:04d}"
    return code, f"/BENCH/DIST-{n % DEALERS % DISTRIBUTORS:02d}/{code}/"


def customers(count: int, ids: list[uuid.UUID]) -> Iterator[tuple]:
    created = NOW - timedelta(days=5 * 365)
    for n in range(count):
        code, path = dealer_of(n)
        yield (ids[n], code, path, created, created, f"EXT-{n}", f"Customer {n}", f"+86138{n:08d}", True, n % 3 == 0,
               n % 2 == 0, 1)


def visits(count: int, visit_total: int, ids: list[uuid.UUID]) -> Iterator[tuple]:
    """Visits per customer drawn 0..2 x the mean, until `visit_total`."""
    rng = random.Random(16)
    mean = visit_total / count
    made = 0
    for n in range(count):
        code, path = dealer_of(n)
        for k in range(min(rng.randint(0, round(2 * mean)), visit_total - made)):
            closed = NOW - timedelta(seconds=rng.randrange(SPAN_SECONDS))
            yield (uuid.uuid4(), code, path, closed, closed, f"RO-{n}-{k}", f"LBENCH{n:011d}", ids[n], "maintenance",
                   closed - timedelta(hours=2), closed, "[]", "[]", rng.randrange(10_000, 300_000), True, 1)
            made += 1


async def drop(admin_url: str) -> None:
    url = make_url(admin_url)
    connection = await asyncpg.connect(asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False)))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


async def load(admin_dsn: str, count: int, visit_total: int) -> int:
    ids = [uuid.uuid4() for _ in range(count)]
    connection = await asyncpg.connect(admin_dsn)
    try:
        async with connection.transaction():
            await connection.copy_records_to_table("customers", records=customers(count, ids), columns=CUSTOMER_COLUMNS)
            await connection.copy_records_to_table("service_visits", records=visits(count, visit_total, ids),
                                                   columns=VISIT_COLUMNS)
            loaded = await connection.fetchval("SELECT count(*) FROM service_visits")
            await connection.execute("CREATE TABLE bench_loaded (customers integer)")
            await connection.execute("INSERT INTO bench_loaded VALUES ($1)", count)
        await connection.execute("ANALYZE")
        return loaded
    finally:
        await connection.close()


async def forget_runs(admin_dsn: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute("DELETE FROM follow_ups; DELETE FROM customer_standing; DELETE FROM outbox")
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def measure(app_url: str, count: int) -> dict:
    engine = create_engine(app_url)
    sessions = session_factory(engine)
    try:
        started = time.perf_counter()
        written, changed = await standing.refresh_standing(sessions, NOW)
        first = time.perf_counter() - started
        started = time.perf_counter()
        daily_written, daily_changed = await standing.refresh_standing(sessions, NOW + timedelta(days=1))
        daily = time.perf_counter() - started
        references = []
        for _ in range(3):
            async with sessions() as session, session.begin():
                started = time.perf_counter()
                await StandingRepository(session, system_principal()).quintiles_only(NOW)
                references.append(time.perf_counter() - started)
        reference = sorted(references)[1]
        # Last, on the standing the daily run left (a day on) with no follow-up yet: the first run's win-backs.
        started = time.perf_counter()
        win_backs = await standing.make_win_backs(sessions, NOW)
        win_back_seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return {
        "first_run": {"seconds": round(first, 1), "customers": written, "rows_per_s": round(written / first),
                      "lifecycle_changes": changed},
        "win_backs": {"seconds": round(win_back_seconds, 1), "made": win_backs},
        "daily_run": {"seconds": round(daily, 1), "customers": daily_written, "rows_per_s": round(daily_written / daily),
                      "lifecycle_changes": daily_changed},
        "reference_quintiles_seconds": round(reference, 2),
        "daily_over_reference": round(daily / reference, 2),
        "first_over_reference": round(first / reference, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--visits", type=int, default=5_000_000)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--reuse", action="store_true", help="keep a complete earlier load of as many customers")
    args = parser.parse_args()
    admin_url = args.database
    app_url = make_url(app_role_url(admin_url)).set(database=make_url(admin_url).database).render_as_string(
        hide_password=False)
    load_seconds = visit_rows = None
    if args.reuse and asyncio.run(previous_load(asyncpg_dsn(admin_url))) == args.customers:
        asyncio.run(upgrade(app_url, MIGRATIONS))
        asyncio.run(forget_runs(asyncpg_dsn(admin_url)))
    else:
        asyncio.run(drop(admin_url))
        asyncio.run(upgrade(app_url, MIGRATIONS))
        started = time.perf_counter()
        visit_rows = asyncio.run(load(asyncpg_dsn(admin_url), args.customers, args.visits))
        load_seconds = round(time.perf_counter() - started, 1)
    figures = asyncio.run(measure(app_url, args.customers))
    write_result("lifecycle", {"customers": args.customers, "visits": visit_rows or args.visits, "dealers": DEALERS,
                               "load_seconds": load_seconds, **figures, "load_average": os.getloadavg()})


if __name__ == "__main__":
    main()
