"""KPI reads at scale: summary, ranking and trend latency over HTTP next to a raw SQL GROUP BY.

`python -m bench.kpi_queries [--answers 5000000] [--rounds 3] [--reuse] [--load-only]`: 500
dealers under 10 distributors, 24 months, 20 answers per response. The answers table, the
response facts and the dealers' rollups are generated in PostgreSQL as the superuser (not
measured; about 90 s for 5M answers), the service's later migrations then run on them.
`--load-only` loads and stops (run it outside the bench lock); `--reuse` measures on the
database a complete earlier load of as many answers left. The KPI service (a subprocess, with
an in-process stand-in for the gateway's org directory) connects as the plain role
`csloop_app`, so it pays row-level security as in production, and answers `--repeats`
requests of each kind (200: the p99 is the second slowest, where with 50 it was the slowest),
the raw GROUP BY `--raw-repeats` (one to three seconds each). Each round also measures event
ingestion next to its set-based reference (bench/kpi_ingestion.py); the summary lines are the
medians of the rounds' ratios. Also: the lag from a submitted response to an updated summary.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from bench.harness import database_base, previous_load, wait_until_ready, write_result
from bench.kpi_ingestion import BATCH, events_for, response_event, set_based_reference, through_service
from services.kpi.app import MIGRATIONS
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.migrations import upgrade
from tests.support.databases import app_role_url, drop_postgres_databases
from tests.support.suite import free_port_base

SECRET = "kpi-bench-secret-of-at-least-32-bytes-long-enough"
DEALERS, DISTRIBUTORS, MONTHS, FACTORS, PER_FACTOR = 500, 10, 24, 5, 4
FIRST = datetime(2024, 1, 1, tzinfo=UTC)
# The dealers' rollups are loaded at this revision, as the service wrote them before any later one.
LOADED_REVISION = "0005"


def dealer_path(i: int) -> str:
    return f"/BENCH/DIST-{i % DISTRIBUTORS:02d}/DLR-{i:04d}/"


def org_directory() -> FastAPI:
    app = FastAPI()

    @app.get("/internal/orgs/{code}")
    async def org(code: str) -> dict:
        if code == "BENCH":
            return {"code": code, "name": "Bench", "kind": "manufacturer", "path": "/BENCH/"}
        i = int(code.split("-")[1])
        return {"code": code, "name": f"Dealer {i}", "kind": "dealer", "path": dealer_path(i)}

    @app.get("/internal/orgs")
    async def subtree(under: str) -> list[dict]:
        dealers = [{"code": f"DLR-{i:04d}", "name": f"Dealer {i}", "kind": "dealer", "path": dealer_path(i)}
                   for i in range(DEALERS)]
        return [org for org in dealers if org["path"].startswith(under)]

    return app


# The data, generated in PostgreSQL as the superuser (a Python loop and COPY of 5M rows took minutes):
# per response a dealer, a month and a minute in it, an NPS category; per answer a value around
# the dealer's bias (60 + dealer % 30, + 3 per factor, sd 15, Box-Muller), clipped to 0-100.
RESPONSES = f"""CREATE TABLE bench_responses AS
  SELECT gen_random_uuid() AS response_id, d AS dealer,
    format('/BENCH/DIST-%s/DLR-%s/', lpad((d % {DISTRIBUTORS})::text, 2, '0'), lpad(d::text, 4, '0')) AS org_path,
    timestamptz '{FIRST.isoformat()}' + make_interval(months => m, mins => minute) AS submitted_at,
    (ARRAY['promoter', 'passive', 'detractor'])[1 + nps] AS nps_category
  FROM (SELECT floor(random() * {DEALERS})::int AS d, floor(random() * {MONTHS})::int AS m,
          floor(random() * 40000)::int AS minute, floor(random() * 3)::int AS nps
        FROM generate_series(1, $1::int)) g"""
GENERATE = [
    f"""CREATE TABLE bench_answers AS
  SELECT r.response_id, r.org_path, r.submitted_at, 'f' || f AS factor,
    least(100, greatest(0, 60 + r.dealer % 30 + 3 * f
      + 15 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::float8 AS value
  FROM bench_responses r, generate_series(0, {FACTORS - 1}) f, generate_series(1, {PER_FACTOR}) k""",
    "CREATE INDEX ON bench_answers (submitted_at)",
    """CREATE TABLE bench_factor_means AS
  SELECT response_id, factor, avg(value) AS x FROM bench_answers GROUP BY response_id, factor""",
    # Equal weights: the index is the mean of the factors' means, i.e. of the 20 answers.
    """INSERT INTO kpi_responses (response_id, org_path, kind, submitted_at, index_score, nps_category, factors)
  SELECT r.response_id, r.org_path, 'csi', r.submitted_at, i.idx, r.nps_category, '{}'
  FROM bench_responses r JOIN (SELECT response_id, avg(x) AS idx FROM bench_factor_means GROUP BY 1) i USING (response_id)""",
    # The rollups as revision 0005 kept them: one row per dealer path, metric and month.
    """INSERT INTO kpi_rollups (metric, month, org_path, n, s, ss)
  SELECT metric, to_char(submitted_at, 'YYYY-MM'), org_path, count(*), sum(v), sum(v * v)
  FROM kpi_responses, LATERAL (VALUES ('csi', index_score), ('responses', 1.0),
    ('nps', CASE nps_category WHEN 'promoter' THEN 100.0 WHEN 'passive' THEN 0.0 ELSE -100.0 END)) m(metric, v)
  GROUP BY 1, 2, 3""",
    """INSERT INTO kpi_factor_rollups (kind, month, org_path, factor, n, sx, sy, sxx, syy, sxy)
  SELECT 'csi', to_char(r.submitted_at, 'YYYY-MM'), r.org_path, f.factor, count(*), sum(f.x), sum(r.index_score),
    sum(f.x * f.x), sum(r.index_score * r.index_score), sum(f.x * r.index_score)
  FROM bench_factor_means f JOIN kpi_responses r USING (response_id) GROUP BY 2, 3, 4""",
    "DROP TABLE bench_factor_means",
    "DROP TABLE bench_responses",
    "CREATE TABLE bench_loaded (answers bigint)",
]


async def load(dsn: str, answers: int) -> int:
    """Answers, response facts and the dealers' rollups, in one transaction; answers how many answers."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL TimeZone = 'UTC'")  # months and years as the service reckons them
            await connection.execute("SELECT setseed(0.7)")
            await connection.execute(RESPONSES, answers // (FACTORS * PER_FACTOR))
            for statement in GENERATE:
                await connection.execute(statement)
            loaded = await connection.fetchval("SELECT count(*) FROM bench_answers")
            await connection.execute("INSERT INTO bench_loaded VALUES ($1)", answers)
    finally:
        await connection.close()
    return loaded


async def analyze(dsn: str) -> None:
    """As a database settles between loads: statistics, and no dead rows left by the migrations."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


RAW_SUMMARY = """SELECT avg(idx), count(*) FROM (SELECT avg(value) AS idx FROM bench_answers
  WHERE org_path LIKE '/BENCH/%' AND submitted_at >= '2025-01-01' AND submitted_at < '2026-01-01' GROUP BY response_id) r"""
RAW_RANKING = """SELECT org_path, avg(idx), count(*) FROM (SELECT org_path, avg(value) AS idx FROM bench_answers
  WHERE submitted_at >= '2025-01-01' AND submitted_at < '2026-01-01' GROUP BY response_id, org_path) r GROUP BY org_path"""
RAW_TREND = """SELECT m, avg(idx), count(*) FROM (SELECT date_trunc('month', min(submitted_at) AT TIME ZONE 'UTC') AS m,
  avg(value) AS idx FROM bench_answers GROUP BY response_id) r GROUP BY m"""


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)}


async def raw_sql(dsn: str, repeats: int) -> tuple[dict, float]:
    connection = await asyncpg.connect(dsn)
    out = {}
    try:
        for name, sql in (("summary", RAW_SUMMARY), ("ranking", RAW_RANKING), ("trend", RAW_TREND)):
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                rows = await connection.fetch(sql)
                samples.append(time.perf_counter() - start)
            out[name] = percentiles(samples)
            if name == "summary":
                raw_csi = rows[0][0]
    finally:
        await connection.close()
    return out, raw_csi


def http_latency(client: httpx.Client, headers: dict, repeats: int) -> tuple[dict, dict]:
    calls = {"summary": ("/v1/kpi/summary", {"period": "2025"}),
             "ranking": ("/v1/kpi/rankings", {"kpi": "csi", "period": "2025", "level": "dealer"}),
             "trend": ("/v1/kpi/trends", {"kpi": "csi", "from": "2024-01", "to": "2025-12"})}
    out, last = {}, {}
    for name, (path, params) in calls.items():
        client.get(path, params=params, headers=headers).raise_for_status()  # warm the org name cache
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            answer = client.get(path, params=params, headers=headers)
            samples.append(time.perf_counter() - start)
            answer.raise_for_status()
            last[name] = answer.json()
        out[name] = percentiles(samples)
    return out, last


def dealer(i: int) -> tuple[str, str]:
    return f"DLR-{i % DEALERS:04d}", dealer_path(i % DEALERS)


def lag(client: httpx.Client, headers: dict, system: dict) -> float:
    """From posting a response event to a summary that counts it (the consumer applies it synchronously)."""
    params = {"period": "2026-02"}
    before = client.get("/v1/kpi/summary", params=params, headers=headers).json()["kpis"]["csi"]["n"]
    start = time.perf_counter()
    client.post("/internal/events", json=response_event(*dealer(1), datetime(2026, 2, 2, tzinfo=UTC), FACTORS),
                headers=system)
    while client.get("/v1/kpi/summary", params=params, headers=headers).json()["kpis"]["csi"]["n"] == before:
        pass
    return time.perf_counter() - start


def serve_directory(port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(org_directory(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    return server


def one_round(client: httpx.Client, base: str, reader: dict, admin_dsn: str, app_dsn: str, args: argparse.Namespace,
              round_: int) -> dict:
    """Reads next to the raw GROUP BY, then ingestion next to its reference; each round in months of its own."""
    service, answers = http_latency(client, reader, args.repeats)
    raw, raw_csi = asyncio.run(raw_sql(admin_dsn, args.raw_repeats))
    month, reference_month = datetime(2027 + round_, 3, 15, tzinfo=UTC), datetime(2027 + round_, 4, 15, tzinfo=UTC)
    single = asyncio.run(through_service(base, SECRET, events_for(args.events, dealer, month, FACTORS),
                                         concurrency=16, batch=1))
    batched = asyncio.run(through_service(base, SECRET, events_for(args.events * 5, dealer, month, FACTORS),
                                          concurrency=2, batch=BATCH))
    reference = asyncio.run(set_based_reference(app_dsn, events_for(args.events * 5, dealer, reference_month, FACTORS),
                                                concurrency=2))
    return {"kpi_service": service, "raw_sql_group_by": raw,
            "csi_2025_service": answers["summary"]["kpis"]["csi"]["value"], "csi_2025_raw_sql": round(raw_csi, 1),
            "ranking_items": len(answers["ranking"]["items"]),
            "ingest_events_per_second": round(single), "ingest_events_per_second_relay_batches_of_200": round(batched),
            "ingest_events_per_second_set_based_reference": round(reference),
            "speedup": {name: round(raw[name]["p50_ms"] / service[name]["p50_ms"], 1) for name in service},
            "ingestion_ratio": round(batched / reference, 3)}


def summary_lines(rounds: list[dict]) -> dict[str, float]:
    """The script-readable figures (`path/reference: ratio`): medians over the rounds of each round's
    ratio, and the worst round's p99 of each read (goal: under 50 ms)."""
    kinds = ("summary", "ranking", "trend")
    lines = {f"kpi_{name}/raw_group_by": statistics.median(r["speedup"][name] for r in rounds) for name in kinds}
    lines |= {f"kpi_{name}/p99_ms": max(r["kpi_service"][name]["p99_ms"] for r in rounds) for name in kinds}
    return lines | {"kpi_ingestion/set_based": statistics.median(r["ingestion_ratio"] for r in rounds)}


def prepare(args: argparse.Namespace) -> tuple[str, str, str, float | None]:
    """The bench database, loaded (or, with --reuse, as a complete earlier load left it): the service's
    URL, the superuser's and the plain role's DSNs, and the load's seconds (None: reused)."""
    base = make_url(database_base())
    admin = base.set(database=f"{base.database}_kpi")
    # As in production: the service and its migrations run as the plain role, bound by row-level security.
    app = make_url(app_role_url(database_base())).set(database=admin.database).render_as_string(hide_password=False)
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    app_dsn = make_url(app).set(drivername="postgresql").render_as_string(hide_password=False)
    if args.reuse and asyncio.run(previous_load(admin_dsn)) == args.answers:
        asyncio.run(upgrade(app, MIGRATIONS))  # revisions newer than the load, if any
        return app, admin_dsn, app_dsn, None
    asyncio.run(drop_postgres_databases(database_base(), ["kpi"]))
    asyncio.run(upgrade(app, MIGRATIONS, LOADED_REVISION))
    started = time.perf_counter()
    asyncio.run(load(admin_dsn, args.answers))
    asyncio.run(upgrade(app, MIGRATIONS))  # what the service's later revisions do with rows in place
    asyncio.run(analyze(admin_dsn))
    return app, admin_dsn, app_dsn, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--raw-repeats", type=int, default=5)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier load of as many answers (the rounds' events stay in it)")
    parser.add_argument("--load-only", action="store_true", help="load (outside the bench lock), measure nothing")
    args = parser.parse_args()
    app, admin_dsn, app_dsn, load_seconds = prepare(args)
    if args.load_only:
        print(f"loaded {args.answers} answers in {load_seconds or 0:.1f} s" if load_seconds else "reused")
        return
    port = free_port_base(2)
    directory = serve_directory(port + 1)
    env = {"CSLOOP_DATABASE_URL": app, "CSLOOP_INTERNAL_SECRET": SECRET,
           "CSLOOP_GATEWAY_URL": f"http://127.0.0.1:{port + 1}", "CSLOOP_LOG_LEVEL": "WARNING", "PATH": ""}
    service = subprocess.Popen([sys.executable, "-m", "services.kpi", "--port", str(port)], env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            wait_until_ready(client, "KPI")
            reader = {INTERNAL_HEADER: mint_internal_token(
                Principal("bench", "BENCH", "/BENCH/", "manufacturer", scopes=frozenset({"kpi:read"})), SECRET, 3600)}
            system = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET, 3600)}
            rounds = [one_round(client, base_url, reader, admin_dsn, app_dsn, args, i) for i in range(args.rounds)]
            lag_seconds = lag(client, reader, system)
    finally:
        service.terminate()
        service.wait(timeout=30)
        directory.should_exit = True
    lines = summary_lines(rounds)
    write_result("kpi_queries", {
        "answers": args.answers, "responses": args.answers // (FACTORS * PER_FACTOR), "dealers": DEALERS,
        "months": MONTHS, "load_seconds": None if load_seconds is None else round(load_seconds, 1), "rounds": rounds,
        "lag_ms": round(lag_seconds * 1000, 1), "summary": lines, "load_average": os.getloadavg()})
    print("\n".join(f"    {name}: {value}" for name, value in lines.items()))


if __name__ == "__main__":
    main()
