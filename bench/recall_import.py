"""Importing 100,000 recall VINs through the gateway in one request.

    flock /tmp/csloop-bench.lock .venv/bin/python -m bench.recall_import [--vins 100000] [--rounds 3]

Each round: a fresh suite; the complaint service's VIN -> dealer read model holds half the VINs
(sold by two dealers, as vehicle.delivered would have left it: written straight into the table,
so the round times the import, not the event flow); the manufacturer creates a recall and
imports the CSV (every VIN new, each given its dealer), then the same file again (every VIN
already listed). Medians of the rounds.
"""

import argparse
import asyncio
import statistics
import time
import uuid

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import database_base, start_suite, write_result
from shared.types import vin_check_digit


def vins(count: int) -> list[str]:
    out = []
    for n in range(count):
        draft = f"LBV8W3106N{n:07d}"
        out.append(draft[:8] + vin_check_digit(draft) + draft[9:])
    return out


async def seed_read_model(affected: list[str], dealers: list[tuple[str, str]]) -> None:
    url = make_url(database_base())
    url = url.set(drivername="postgresql", database=f"{url.database}_complaint")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        rows = [(vin, *dealers[n % len(dealers)]) for n, vin in enumerate(affected[::2])]
        await connection.copy_records_to_table("vehicle_dealers", records=rows,
                                               columns=["vin", "selling_dealer_code", "selling_org_path"])
    finally:
        await connection.close()


def one_round(count: int) -> dict:
    running = start_suite()
    try:
        manufacturer = running.network.manufacturer
        distributor = running.network.org("distributor")
        dealers = [running.network.org("dealer", distributor) for _ in range(2)]
        paths = [(d.code, f"/{manufacturer.code}/{distributor.code}/{d.code}/") for d in dealers]
        affected = vins(count)
        asyncio.run(seed_read_model(affected, paths))
        code = f"RC-{uuid.uuid4().hex[:8]}"
        created = manufacturer.client.post("/v1/recalls", json={"code": code, "title": "Bench", "remedy_op_code": "B1"})
        assert created.status_code == 201, created.text
        body = ("vin\n" + "\n".join(affected) + "\n").encode()

        def send() -> tuple[float, dict]:
            started = time.perf_counter()
            response = httpx.post(f"{running.network.url}/v1/recalls/{code}/vins/import", content=body, timeout=1800,
                                  headers={"Authorization": f"Bearer {manufacturer.key}", "Content-Type": "text/csv"})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.text[:500]
            return elapsed, response.json()

        first_seconds, first = send()
        assert first["added"] == count, first
        again_seconds, again = send()
        assert again["added"] == 0, again
        progress = manufacturer.client.get(f"/v1/recalls/{code}/progress").json()
        assert progress["affected"] == count and sum(i["affected"] for i in progress["items"]) == count // 2, progress
    finally:
        running.stop()
    return {"first_import_s": round(first_seconds, 2), "first_vins_per_s": round(count / first_seconds),
            "repeat_import_s": round(again_seconds, 2), "body_bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vins", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [one_round(args.vins) for _ in range(args.rounds)]
    write_result("recall_import", {"vins": args.vins, "rounds": rounds,
                                   "median": {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}})


if __name__ == "__main__":
    main()
