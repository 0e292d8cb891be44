"""Survey responses per second through the gateway, each stored, scored and its event in the outbox.

    .venv/bin/python -m bench.survey_responses [--responses 2000] [--concurrency 32]

Every submission is a full CSI answer set POSTed to `/v1/public/surveys/{token}/responses`
through the gateway (no key: the token is the credential). The survey service validates it
against the pinned version, scores it, checks the alert rules and writes the response, the
invitation's new status and `survey.response.submitted` in one transaction. The same-run
reference is a raw asyncpg `executemany` INSERT of as many rows of the same JSON into a
scratch table of the survey database: what the disk and PostgreSQL alone cost.
"""

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import database_base, start_suite, write_result

ROWS = {"initiation": ["appointment", "greeting"],
        "advisor": ["courtesy", "honesty", "knowledge", "understanding", "explaining"],
        "facility": ["cleanliness", "comfort", "amenities"],
        "pickup": ["on_time", "explanation", "payment", "cleanliness"],
        "quality": ["diagnosis", "fixed_right", "complete"]}


def answers(n: int) -> dict[str, Any]:
    """A varied, valid CSI answer set; about one in ten is a detractor who says why."""
    score = 4 + n % 7
    nps = n % 11
    body: dict[str, Any] = {code: {row: score for row in rows} for code, rows in ROWS.items()}
    body |= {"fixed_first_time": "yes" if n % 13 else "no", "nps": nps, "comment": "服务很好，谢谢"}
    if nps <= 6:
        body["nps_reason"] = "等待时间有点长"
    return body


async def invite_all(url: str, key: str, survey_id: str, dealer_code: str, count: int, concurrency: int) -> list[str]:
    """`count` invitations, each to a different new customer of the dealer (the 30-day fatigue rule;
    a customer id must name one of the dealer's customers)."""
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        async def one() -> str:
            async with semaphore:
                customer = await client.post("/v1/customers", json={
                    "dealer_code": dealer_code, "name": "李娜", "consent": {"survey": True}})
                customer.raise_for_status()
                created = await client.post("/v1/survey-invitations", json={
                    "survey_id": survey_id, "customer_id": customer.json()["id"], "dealer_code": dealer_code,
                    "channel": "sms"})
                created.raise_for_status()
                return created.json()["token"]

        return await asyncio.gather(*(one() for _ in range(count)))


async def submit_all(url: str, tokens: list[str], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(tokens):
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                n, token = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers(n)})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"responses": len(tokens), "seconds": round(elapsed, 2), "responses_per_s": round(len(tokens) / elapsed),
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2), "errors": errors}


def asyncpg_dsn(component: str) -> str:
    url = make_url(database_base())
    url = url.set(drivername="postgresql", database=f"{url.database}_{component}")
    return url.render_as_string(hide_password=False)


async def stored_counts() -> dict[str, int]:
    connection = await asyncpg.connect(asyncpg_dsn("survey"))
    try:
        return {
            "responses_stored": await connection.fetchval("SELECT count(*) FROM survey_responses"),
            "scored": await connection.fetchval("SELECT count(*) FROM survey_responses WHERE score_index IS NOT NULL"),
            "submitted_events": await connection.fetchval(
                "SELECT count(*) FROM outbox WHERE type = 'survey.response.submitted'"),
        }
    finally:
        await connection.close()


async def raw_insert_reference(count: int) -> dict[str, Any]:
    """The same number of rows of the same JSON, one executemany INSERT into a scratch table."""
    connection = await asyncpg.connect(asyncpg_dsn("survey"))
    try:
        await connection.execute("DROP TABLE IF EXISTS bench_raw_responses")
        await connection.execute("CREATE TABLE bench_raw_responses (id uuid PRIMARY KEY, token text NOT NULL, "
                                 "answers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        rows = [(uuid.uuid4(), uuid.uuid4().hex, json.dumps(answers(n), ensure_ascii=False)) for n in range(count)]
        started = time.perf_counter()
        await connection.executemany("INSERT INTO bench_raw_responses (id, token, answers) VALUES ($1, $2, $3::jsonb)",
                                     rows)
        elapsed = time.perf_counter() - started
        await connection.execute("DROP TABLE bench_raw_responses")
        return {"rows": count, "seconds": round(elapsed, 3), "rows_per_s": round(count / elapsed)}
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    running = start_suite()
    try:
        network = running.network
        dealer = network.org("dealer", network.org("distributor"))
        created = dealer.client.post("/v1/surveys", json={"template": "csi"})
        created.raise_for_status()
        survey_id = created.json()["id"]
        dealer.client.post(f"/v1/surveys/{survey_id}/publish").raise_for_status()
        tokens = asyncio.run(invite_all(network.url, dealer.key, survey_id, dealer.code, args.responses,
                                        args.concurrency))
        load_before = os.getloadavg()
        gateway = asyncio.run(submit_all(network.url, tokens, args.concurrency))
        stored = asyncio.run(stored_counts())
        reference = asyncio.run(raw_insert_reference(args.responses))
        write_result("survey_responses", {
            "what": "full CSI responses POSTed through the gateway: validated, scored, alert-checked, stored with "
                    "the invitation update and the outbox event in one transaction",
            "concurrency": args.concurrency, "gateway": gateway, "stored": stored,
            "raw_insert_executemany": reference,
            "gateway_vs_raw_insert": round(gateway["responses_per_s"] / reference["rows_per_s"], 4),
            "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        })
    finally:
        running.stop()


if __name__ == "__main__":
    main()
