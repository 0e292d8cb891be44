"""KPI reads at scale: summary, ranking and trend latency over HTTP next to a raw SQL GROUP BY.

`python -m bench.kpi_queries [--answers 5000000]`: 500 dealers under 10 distributors, 24
months, 20 answers per response. The answers table, the response facts and the rollups are
loaded with COPY (not measured); then the KPI service (a subprocess, with an in-process
stand-in for the gateway's org directory) answers 50 requests of each kind. Also measured:
event ingestion per second and the lag from a submitted response to an updated summary.
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
from services.kpi.app import MIGRATIONS
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.events import new_event
from shared.migrations import upgrade
from tests.support.databases import drop_postgres_databases
from tests.support.suite import free_port_base

SECRET = "kpi-bench-secret-of-at-least-32-bytes-long-enough"
DEALERS, DISTRIBUTORS, MONTHS, FACTORS, PER_FACTOR = 500, 10, 24, 5, 4
FIRST = datetime(2024, 1, 1, tzinfo=UTC)


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
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return len(answer_rows)


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


def response_event(dealer: int, at: datetime) -> dict:
    data = {"dealer_code": f"DLR-{dealer:04d}", "org_path": dealer_path(dealer), "survey_id": str(uuid.uuid4()),
            "survey_code": "CSI", "survey_version": 1, "kind": "csi", "response_id": str(uuid.uuid4()),
            "invitation_id": str(uuid.uuid4()), "submitted_at": at.isoformat(),
            "scores": {"index": 80.0, "factors": {f"f{f}": 80.0 for f in range(FACTORS)}, "nps_category": "promoter"}}
    return new_event("/csloop/survey", "survey.response.submitted", None, data).model_dump(mode="json")


async def ingest(base: str, events: int, concurrency: int = 16, batch: int = 1) -> float:
    """Events per second into facts and rollups: one event per request, or `batch` per request as a relay sends."""
    token = mint_internal_token(system_principal(), SECRET, ttl_seconds=3600)
    bodies = [response_event(i % DEALERS, datetime(2026, 1, 15, tzinfo=UTC)) for i in range(events)]
    requests = [bodies[i:i + batch] if batch > 1 else bodies[i] for i in range(0, events, batch)]
    async with httpx.AsyncClient(base_url=base, headers={INTERNAL_HEADER: token}, timeout=120) as client:
        async def worker(chunk: list) -> None:
            for body in chunk:
                (await client.post("/internal/events", json=body)).raise_for_status()
        start = time.perf_counter()
        await asyncio.gather(*(worker(requests[i::concurrency]) for i in range(concurrency)))
        return events / (time.perf_counter() - start)


def lag(client: httpx.Client, headers: dict, system: dict) -> float:
    """From posting a response event to a summary that counts it (the consumer applies it synchronously)."""
    params = {"period": "2026-02"}
    before = client.get("/v1/kpi/summary", params=params, headers=headers).json()["kpis"]["csi"]["n"]
    start = time.perf_counter()
    client.post("/internal/events", json=response_event(1, datetime(2026, 2, 2, tzinfo=UTC)), headers=system)
    while client.get("/v1/kpi/summary", params=params, headers=headers).json()["kpis"]["csi"]["n"] == before:
        pass
    return time.perf_counter() - start


def serve_directory(port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(org_directory(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    url = make_url(database_base()).set(database="csloop_bench_kpi")
    asyncio.run(drop_postgres_databases(database_base(), ["kpi"]))
    asyncio.run(upgrade(url.render_as_string(hide_password=False), MIGRATIONS))
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    loaded = asyncio.run(load(dsn, args.answers))
    load_seconds = time.perf_counter() - started
    port = free_port_base(2)
    directory = serve_directory(port + 1)
    env = {"CSLOOP_DATABASE_URL": url.render_as_string(hide_password=False), "CSLOOP_INTERNAL_SECRET": SECRET,
           "CSLOOP_GATEWAY_URL": f"http://127.0.0.1:{port + 1}", "CSLOOP_LOG_LEVEL": "WARNING", "PATH": ""}
    # The bench loads its facts as the superuser that owns the database: allowed explicitly.
    service = subprocess.Popen([sys.executable, "-m", "services.kpi", "--port", str(port), "--allow-superuser"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            reader = {INTERNAL_HEADER: mint_internal_token(
                Principal("bench", "BENCH", "/BENCH/", "manufacturer", scopes=frozenset({"kpi:read"})), SECRET, 3600)}
            system = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET, 3600)}
            service_figures, answers = http_latency(client, reader, args.repeats)
            raw_figures, raw_csi = asyncio.run(raw_sql(dsn, max(5, args.repeats // 10)))
            events_per_second = asyncio.run(ingest(base, args.events))
            batched_per_second = asyncio.run(ingest(base, args.events * 5, concurrency=2, batch=200))
            lag_seconds = lag(client, reader, system)
    finally:
        service.terminate()
        service.wait(timeout=30)
        directory.should_exit = True
    write_result("kpi_queries", {
        "answers": loaded, "responses": loaded // (FACTORS * PER_FACTOR), "dealers": DEALERS, "months": MONTHS,
        "load_seconds": round(load_seconds, 1), "kpi_service": service_figures, "raw_sql_group_by": raw_figures,
        "csi_2025_service": answers["summary"]["kpis"]["csi"]["value"], "csi_2025_raw_sql": round(raw_csi, 1),
        "ranking_items": len(answers["ranking"]["items"]),
        "ingest_events_per_second": round(events_per_second),
        "ingest_events_per_second_relay_batches_of_200": round(batched_per_second), "lag_ms": round(lag_seconds * 1000, 1)})


if __name__ == "__main__":
    main()
