"""The people scorecard at scale: `GET /v1/kpi/people` over HTTP next to a raw SQL GROUP BY.

`python -m bench.kpi_people [--answers 5000000] [--reuse]`: the database of bench/kpi_queries.py
(500 dealers, 24 months, 20 answers per response; loaded as there, or reused), its CSI responses
given an advisor (8 per dealer) and a technician (6 per dealer) drawn from the response id (not
measured). Then the manufacturer's service advisors for CSI in 2025 (4,000 people, each about
60 responses) `--repeats` times through the KPI service (a subprocess, as the plain role under
row-level security), next to the same figures by a GROUP BY over the raw answers by dealer and
advisor. Run it under the bench lock: `flock /tmp/csloop-bench.lock python -m bench.kpi_people --reuse`.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time

import asyncpg
import httpx

from bench.harness import wait_until_ready, write_result
from bench.kpi_queries import SECRET, percentiles, prepare, serve_directory
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token
from tests.support.suite import free_port_base

# The advisor and technician of a response, a function of its id, so that the raw query can say the same.
ADVISOR = "'SA' || abs(hashtext(response_id::text)) % 8"
STAFF = f"""UPDATE kpi_responses SET advisor = {ADVISOR},
  technician = 'T' || abs(hashtext(response_id::text) / 8) % 6 WHERE kind = 'csi' AND advisor IS NULL"""
RAW_PEOPLE = f"""SELECT org_path, {ADVISOR} AS advisor, avg(idx), count(*) FROM (SELECT response_id, org_path,
  avg(value) AS idx FROM bench_answers WHERE submitted_at >= '2025-01-01' AND submitted_at < '2026-01-01'
  GROUP BY response_id, org_path) r GROUP BY 1, 2"""
PEOPLE = ("/v1/kpi/people", {"kpi": "csi", "period": "2025", "role": "service_advisor"})


async def staff_responses(dsn: str) -> int:
    """Advisors and technicians on the responses that have none yet (a reused load keeps them)."""
    connection = await asyncpg.connect(dsn)
    try:
        staffed = int((await connection.execute(STAFF)).split()[-1])
        if staffed:
            await connection.execute("VACUUM ANALYZE kpi_responses")
        return staffed
    finally:
        await connection.close()


async def raw_sql(dsn: str, repeats: int) -> tuple[dict, dict[tuple[str, str], float]]:
    connection = await asyncpg.connect(dsn)
    samples = []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            rows = await connection.fetch(RAW_PEOPLE)
            samples.append(time.perf_counter() - start)
    finally:
        await connection.close()
    return percentiles(samples), {(path.split("/")[-2], advisor): value for path, advisor, value, _n in rows}


def http_latency(client: httpx.Client, headers: dict, repeats: int) -> tuple[dict, dict]:
    path, params = PEOPLE
    client.get(path, params=params, headers=headers).raise_for_status()  # warm the org name cache
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        answer = client.get(path, params=params, headers=headers)
        samples.append(time.perf_counter() - start)
        answer.raise_for_status()
    return percentiles(samples), answer.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--raw-repeats", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier load of as many answers")
    args = parser.parse_args()
    app, admin_dsn, _app_dsn, load_seconds = prepare(argparse.Namespace(answers=args.answers, reuse=args.reuse))
    staffed = asyncio.run(staff_responses(admin_dsn))
    port = free_port_base(2)
    directory = serve_directory(port + 1)
    env = {"CSLOOP_DATABASE_URL": app, "CSLOOP_INTERNAL_SECRET": SECRET,
           "CSLOOP_GATEWAY_URL": f"http://127.0.0.1:{port + 1}", "CSLOOP_LOG_LEVEL": "WARNING", "PATH": ""}
    service = subprocess.Popen([sys.executable, "-m", "services.kpi", "--port", str(port)], env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_until_ready(client, "KPI")
            reader = {INTERNAL_HEADER: mint_internal_token(
                Principal("bench", "BENCH", "/BENCH/", "manufacturer", scopes=frozenset({"kpi:read"})), SECRET, 3600)}
            served, answer = http_latency(client, reader, args.repeats)
    finally:
        service.terminate()
        service.wait(timeout=30)
        directory.should_exit = True
    raw, raw_values = asyncio.run(raw_sql(admin_dsn, args.raw_repeats))
    first = answer["items"][0]
    ratio = round(raw["p50_ms"] / served["p50_ms"], 1)
    write_result("kpi_people", {
        "answers": args.answers, "load_seconds": None if load_seconds is None else round(load_seconds, 1),
        "responses_staffed_now": staffed, "people": len(answer["items"]), "kpi_service": served, "raw_sql_group_by": raw,
        "first": first, "first_raw": round(raw_values[(first["dealer_code"], first["staff_code"])], 1),
        "summary": {"kpi_people/raw_group_by": ratio, "kpi_people/p99_ms": served["p99_ms"]},
        "load_average": os.getloadavg()})
    print(f"    kpi_people/raw_group_by: {ratio}\n    kpi_people/p99_ms: {served['p99_ms']}")


if __name__ == "__main__":
    main()
