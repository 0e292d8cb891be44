"""Screen pop at scale: `GET /v1/lookup?phone=` latency over 1,000,000 customers (issue 14 item 4).

    flock /tmp/csloop-bench.lock .venv/bin/python -m bench.lookup [--customers 1000000] [--repeats 2000] [--reuse]

500 dealers under 10 distributors. Every customer has a mainland mobile; a prospect in ten has
a customer's phone (a lead who bought), one customer in five an open follow-up, one in ten an
open complaint and another one in ten a closed one (the complaint service's cases as the
customer service keeps them, `complaint_summaries`), and there is one service visit per customer. The rows are generated in PostgreSQL as the superuser (not
measured); the service and its migrations run as the plain role `csloop_app`, so every query
pays row-level security as in production. The customer service runs as a subprocess and is
asked `--repeats` times per case, one request at a time, each phone picked at random and sent
in one of the three formats a phone system sends (`138 1234 5678`, `+8613812345678`,
`13812345678`):
- a dealer looking up one of its own customers (a hit, with follow-ups and last visit);
- a dealer looking up another dealer's customer (no hit: the scope hides it);
- the manufacturer looking up any customer (above the dealer: phone index and consent filter).
The database is `csloopbench_desk` (`--database` names another); `--reuse` keeps a complete
earlier load of as many customers.
"""

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import previous_load, wait_until_ready, write_result
from services.customer.app import MIGRATIONS
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token
from shared.migrations import upgrade
from tests.support.databases import app_role_url
from tests.support.suite import free_port_base

SECRET = "lookup-bench-secret-of-at-least-32-bytes-long"
DEALERS, DISTRIBUTORS = 500, 10
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/csloopbench_desk"

# n = 1..customers; customer n belongs to dealer n % DEALERS and has phone +86138 n (8 digits).
DEALER = f"'DLR-' || lpad((n % {DEALERS})::text, 4, '0')"
PATH = f"'/BENCH/DIST-' || lpad((n % {DEALERS} % {DISTRIBUTORS})::text, 2, '0') || '/' || {DEALER} || '/'"
PHONE = "'+86138' || lpad(n::text, 8, '0')"
GENERATE = [
    f"""INSERT INTO customers (id, dealer_code, org_path, created_at, updated_at, external_id, name, phone, email,
                               city, consent_survey, consent_marketing, consent_share_with_manufacturer, version)
        SELECT gen_random_uuid(), {DEALER}, {PATH}, now() - n * interval '1 minute', now(), 'EXT-' || n,
               'Customer ' || n, {PHONE}, 'c' || n || '@example.cn', 'Shanghai', true, n % 3 = 0, n % 2 = 0, 1
        FROM generate_series(1, $1) AS n""",
    """INSERT INTO service_visits (id, dealer_code, org_path, created_at, updated_at, ro_number, vin, customer_id,
                                   visit_type, opened_at, closed_at, symptom_codes, op_codes, owner_verified, version)
       SELECT gen_random_uuid(), dealer_code, org_path, created_at, created_at, 'RO-' || external_id,
              'LBENCH' || lpad(substr(external_id, 5), 11, '0'), id, 'maintenance', created_at,
              created_at + interval '2 hours', '[]', '[]', true, 1
       FROM customers""",
    """INSERT INTO follow_ups (id, dealer_code, org_path, created_at, updated_at, kind, dedupe_key, customer_id,
                               due_at, status)
       SELECT gen_random_uuid(), dealer_code, org_path, created_at, created_at, 'service', 'bench:' || id, id,
              created_at + interval '3 days', 'open'
       FROM customers WHERE substr(external_id, 5)::int % 5 = 0""",
    """INSERT INTO complaint_summaries (complaint_id, number, dealer_code, org_path, customer_id, category, priority,
                                        status, is_open, opened_at, resolution_due, changed_at)
       SELECT gen_random_uuid(), 'CMP-' || external_id, dealer_code, org_path, id, 'repair_quality', 'P3',
              CASE WHEN substr(external_id, 5)::int % 10 = 1 THEN 'in_progress' ELSE 'closed' END,
              substr(external_id, 5)::int % 10 = 1, created_at, created_at + interval '7 days', created_at
       FROM customers WHERE substr(external_id, 5)::int % 10 IN (1, 2)""",
    f"""INSERT INTO prospects (id, dealer_code, org_path, created_at, updated_at, name, phone, level, version)
        SELECT gen_random_uuid(), {DEALER}, {PATH}, now(), now(), 'Lead ' || n, {PHONE}, 'A', 1
        FROM generate_series(1, $1, 10) AS n""",
]


def dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def drop(admin_url: str) -> None:
    url = make_url(admin_url)
    connection = await asyncpg.connect(dsn(url.set(database="postgres").render_as_string(hide_password=False)))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


async def load(admin_dsn: str, customers: int) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        async with connection.transaction():
            for statement in GENERATE:
                await connection.execute(statement, *([customers] if "$1" in statement else []))
            await connection.execute("CREATE TABLE bench_loaded (customers integer)")
            await connection.execute("INSERT INTO bench_loaded VALUES ($1)", customers)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def prepare(args: argparse.Namespace) -> tuple[str, float | None]:
    """The loaded database: the service's URL (plain role) and the load's seconds (None: reused)."""
    admin_url = args.database
    app_url = make_url(app_role_url(admin_url)).set(database=make_url(admin_url).database).render_as_string(
        hide_password=False)
    if args.reuse and asyncio.run(previous_load(dsn(admin_url))) == args.customers:
        asyncio.run(upgrade(app_url, MIGRATIONS))
        return app_url, None
    asyncio.run(drop(admin_url))
    asyncio.run(upgrade(app_url, MIGRATIONS))
    started = time.perf_counter()
    asyncio.run(load(dsn(admin_url), args.customers))
    return app_url, time.perf_counter() - started


def formats(n: int) -> list[str]:
    digits = f"138{n:08d}"
    return [f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86{digits}", digits]


def headers_for(code: str, path: str, kind: str) -> dict[str, str]:
    principal = Principal(f"bench-{code}", code, path, kind, scopes=frozenset({"customers:read", "pii:read"}))
    return {INTERNAL_HEADER: mint_internal_token(principal, SECRET, 3600)}


def dealer_headers(n: int) -> dict[str, str]:
    code = f"DLR-{n % DEALERS:04d}"
    return headers_for(code, f"/BENCH/DIST-{n % DEALERS % DISTRIBUTORS:02d}/{code}/", "dealer")


def measure(client: httpx.Client, repeats: int, customers: int, case: str, seed: str) -> dict[str, float]:
    """`repeats` lookups of random customers' phones, one at a time; p50/p99 in ms and the hits."""
    rng = random.Random(seed)
    manufacturer = headers_for("BENCH", "/BENCH/", "manufacturer")
    samples, hits = [], 0
    for _ in range(repeats):
        n = rng.randint(1, customers)
        caller = {"own": dealer_headers(n), "other": dealer_headers(n + 1), "above": manufacturer}[case]
        phone = rng.choice(formats(n))
        started = time.perf_counter()
        response = client.get("/v1/lookup", params={"phone": phone}, headers=caller)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
        hits += bool(response.json()["customers"])
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2), "hits": hits, "requests": repeats}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--reuse", action="store_true", help="keep a complete earlier load of as many customers")
    args = parser.parse_args()
    app_url, load_seconds = prepare(args)
    port = free_port_base(1)
    env = {"CSLOOP_DATABASE_URL": app_url, "CSLOOP_INTERNAL_SECRET": SECRET, "CSLOOP_LOG_LEVEL": "WARNING",
           "CSLOOP_RELAY_ENABLED": "false", "CSLOOP_BIRTHDAY_JOB_ENABLED": "false",
           "CSLOOP_STANDING_JOB_ENABLED": "false", "PATH": ""}  # its first run would compete with the lookups
    service = subprocess.Popen([sys.executable, "-m", "services.customer", "--port", str(port)], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_until_ready(client, "customer")
            measure(client, 200, args.customers, "own", "warm-up")
            cases = {case: measure(client, args.repeats, args.customers, case, case) for case in ("own", "other", "above")}
    finally:
        service.terminate()
        service.wait(timeout=30)
    write_result("lookup", {"customers": args.customers, "dealers": DEALERS,
                            "load_seconds": None if load_seconds is None else round(load_seconds, 1),
                            "cases": cases, "load_average": os.getloadavg()})


if __name__ == "__main__":
    main()
