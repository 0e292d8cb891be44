"""KPI reads at scale: summary, ranking and trend latency over HTTP next to a raw SQL GROUP BY.

`python -m bench.kpi_queries [--answers 5000000] [--rounds 3]`: 500 dealers under 10
distributors, 24 months, 20 answers per response. The answers table, the response facts and
the dealers' rollups are loaded with COPY as the superuser (not measured); the service's
later migrations then run on them. The KPI service (a subprocess, with an in-process
stand-in for the gateway's org directory) connects as the plain role `csloop_app`, so it pays
row-level security as in production, and answers `--repeats` requests of each kind. Each
round also measures event ingestion next to its set-based reference (bench/kpi_ingestion.py);
the summary lines are the medians of the rounds' ratios. Also: the lag from a submitted
response to an updated summary.
"""

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from bench.harness import database_base, write_result
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


def generate(answers: int, seed: int = 7) -> tuple[list[tuple], list[tuple], dict, dict]:
    """Answers, response facts, and their rollups (metric, month, path) -> [n, s, ss], factor sums."""
    rng = random.Random(seed)
    answer_rows, responses, rollups, factor_sums = [], [], {}, {}
    for _ in range(answers // (FACTORS * PER_FACTOR)):
        dealer = rng.randrange(DEALERS)
        path, month_index = dealer_path(dealer), rng.randrange(MONTHS)
        at = FIRST.replace(year=2024 + month_index // 12, month=month_index % 12 + 1) + timedelta(minutes=rng.randrange(40000))
        month, rid, bias = f"{at.year:04d}-{at.month:02d}", uuid.uuid4(), 60 + dealer % 30
        factors = {}
        for f in range(FACTORS):
            values = [min(100.0, max(0.0, rng.gauss(bias + 3 * f, 15))) for _ in range(PER_FACTOR)]
            answer_rows += [(rid, path, at, f"f{f}", v) for v in values]
            factors[f"f{f}"] = sum(values) / PER_FACTOR
        index = sum(factors.values()) / FACTORS  # equal weights: the index is the mean of the 20 answers
        nps = rng.choice(("promoter", "passive", "detractor"))
        responses.append((rid, path, "csi", at, index, nps))
        for metric, value in (("csi", index), ("nps", {"promoter": 100.0, "passive": 0.0, "detractor": -100.0}[nps]),
                              ("responses", 1.0)):
            agg = rollups.setdefault((metric, month, path), [0, 0.0, 0.0])
            agg[0], agg[1], agg[2] = agg[0] + 1, agg[1] + value, agg[2] + value * value
        for name, x in factors.items():
            sums = factor_sums.setdefault(("csi", month, path, name), [0, 0.0, 0.0, 0.0, 0.0, 0.0])
            for k, v in enumerate((1, x, index, x * x, index * index, x * index)):
                sums[k] += v
    return answer_rows, responses, rollups, factor_sums


async def load(dsn: str, answers: int) -> int:
    answer_rows, responses, rollups, factor_sums = generate(answers)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE TABLE bench_answers (response_id uuid, org_path text, submitted_at timestamptz,"
                                 " factor text, value double precision)")
        await connection.copy_records_to_table("bench_answers", records=answer_rows)
        await connection.execute("CREATE INDEX ON bench_answers (submitted_at)")
        await connection.copy_records_to_table(
            "kpi_responses", records=[(*r, "{}") for r in responses],
            columns=["response_id", "org_path", "kind", "submitted_at", "index_score", "nps_category", "factors"])
        await connection.copy_records_to_table("kpi_rollups", records=[(*k, *v) for k, v in rollups.items()],
                                               columns=["metric", "month", "org_path", "n", "s", "ss"])
        await connection.copy_records_to_table(
            "kpi_factor_rollups", records=[(*k, *v) for k, v in factor_sums.items()],
            columns=["kind", "month", "org_path", "factor", "n", "sx", "sy", "sxx", "syy", "sxy"])
    finally:
        await connection.close()
    return len(answer_rows)


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


def wait_ready(client: httpx.Client) -> None:
    for _ in range(300):
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the KPI service did not become ready")


def one_round(client: httpx.Client, base: str, reader: dict, admin_dsn: str, app_dsn: str, args: argparse.Namespace,
              round_: int) -> dict:
    """Reads next to the raw GROUP BY, then ingestion next to its reference; each round in months of its own."""
    service, answers = http_latency(client, reader, args.repeats)
    raw, raw_csi = asyncio.run(raw_sql(admin_dsn, max(5, args.repeats // 10)))
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
    """The script-readable figures: medians over the rounds of each round's ratio."""
    lines = {f"kpi_{name}": statistics.median(r["speedup"][name] for r in rounds) for name in ("summary", "ranking", "trend")}
    return lines | {"kpi_ingestion": statistics.median(r["ingestion_ratio"] for r in rounds)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = make_url(database_base())
    asyncio.run(drop_postgres_databases(database_base(), ["kpi"]))
    admin = base.set(database=f"{base.database}_kpi")
    # As in production: the service and its migrations run as the plain role, bound by row-level security.
    app = make_url(app_role_url(database_base())).set(database=admin.database).render_as_string(hide_password=False)
    asyncio.run(upgrade(app, MIGRATIONS, LOADED_REVISION))
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    app_dsn = make_url(app).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    loaded = asyncio.run(load(admin_dsn, args.answers))
    load_seconds = time.perf_counter() - started
    asyncio.run(upgrade(app, MIGRATIONS))  # what the service's later revisions do with rows in place
    asyncio.run(analyze(admin_dsn))
    port = free_port_base(2)
    directory = serve_directory(port + 1)
    env = {"CSLOOP_DATABASE_URL": app, "CSLOOP_INTERNAL_SECRET": SECRET,
           "CSLOOP_GATEWAY_URL": f"http://127.0.0.1:{port + 1}", "CSLOOP_LOG_LEVEL": "WARNING", "PATH": ""}
    service = subprocess.Popen([sys.executable, "-m", "services.kpi", "--port", str(port)], env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            wait_ready(client)
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
        "answers": loaded, "responses": loaded // (FACTORS * PER_FACTOR), "dealers": DEALERS, "months": MONTHS,
        "load_seconds": round(load_seconds, 1), "rounds": rounds, "lag_ms": round(lag_seconds * 1000, 1),
        "summary": lines})
    print("\n".join(f"    {name}: {value}" for name, value in lines.items()))


if __name__ == "__main__":
    main()
