"""KPI event ingestion: the service's `/internal/events` next to a set-based reference on the same tables.

The events are `survey.response.submitted`, the bulk of what the KPI service consumes. The
service is measured as a relay sends (batches of 200, two senders) and one event per request
(16 senders). The reference does the same work without HTTP, JSON or an ORM: asyncpg as the
plain role with the system's row-level-security setting, one transaction per batch of 200,
four statements per batch whatever its size (processed-event ids, response facts, the summed
rollup deltas of every org above each response for its month and year, the factor sums),
with the same two senders.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg
import httpx

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from shared.events import new_event
from shared.org_path import OrgPath

RESPONSE_SUBMITTED = "survey.response.submitted"
NPS_VALUES = {"promoter": 100.0, "passive": 0.0, "detractor": -100.0}
BATCH = 200


def response_event(dealer_code: str, org_path: str, at: datetime, factors: int) -> dict:
    data = {"dealer_code": dealer_code, "org_path": org_path, "survey_id": str(uuid.uuid4()), "survey_code": "CSI",
            "survey_version": 1, "kind": "csi", "response_id": str(uuid.uuid4()), "invitation_id": str(uuid.uuid4()),
            "submitted_at": at.isoformat(),
            "scores": {"index": 80.0, "factors": {f"f{f}": 80.0 for f in range(factors)}, "nps_category": "promoter"}}
    return new_event("/csloop/survey", RESPONSE_SUBMITTED, None, data).model_dump(mode="json")


async def through_service(base: str, secret: str, bodies: list[dict], *, concurrency: int, batch: int) -> float:
    """Events per second into facts and rollups: one event per request, or `batch` per request as a relay sends."""
    token = mint_internal_token(system_principal(), secret, ttl_seconds=3600)
    requests = [bodies[i:i + batch] if batch > 1 else bodies[i] for i in range(0, len(bodies), batch)]
    async with httpx.AsyncClient(base_url=base, headers={INTERNAL_HEADER: token}, timeout=120) as client:
        async def sender(chunk: list) -> None:
            for body in chunk:
                (await client.post("/internal/events", json=body)).raise_for_status()
        start = time.perf_counter()
        await asyncio.gather(*(sender(requests[i::concurrency]) for i in range(concurrency)))
        return len(bodies) / (time.perf_counter() - start)


NEW_EVENTS = """INSERT INTO processed_events (event_id, type, processed_at)
  SELECT id, $2, now() FROM unnest($1::text[]) AS e(id) ON CONFLICT DO NOTHING RETURNING event_id"""
NEW_RESPONSES = """INSERT INTO kpi_responses (response_id, org_path, kind, submitted_at, index_score, nps_category, factors)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::float8[], $6::text[], $7::json[])
  ON CONFLICT DO NOTHING RETURNING response_id"""
ROLLUPS = """INSERT INTO kpi_rollups AS r (metric, month, org_path, n, s, ss)
  SELECT metric, month, org_path, count(*), sum(v), sum(v * v)
  FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[]) AS d(metric, month, org_path, v)
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (metric, month, org_path) DO UPDATE SET n = r.n + excluded.n, s = r.s + excluded.s, ss = r.ss + excluded.ss"""
FACTORS = """INSERT INTO kpi_factor_rollups AS r (kind, month, org_path, factor, n, sx, sy, sxx, syy, sxy)
  SELECT kind, month, org_path, factor, count(*), sum(x), sum(y), sum(x * x), sum(y * y), sum(x * y)
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[]) AS d(kind, month, org_path, factor, x, y)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (kind, month, org_path, factor) DO UPDATE SET n = r.n + excluded.n, sx = r.sx + excluded.sx,
    sy = r.sy + excluded.sy, sxx = r.sxx + excluded.sxx, syy = r.syy + excluded.syy, sxy = r.sxy + excluded.sxy"""


def _columns(rows: list[tuple]) -> list[list]:
    return [list(column) for column in zip(*rows)] if rows else []


def _responses(bodies: list[dict]) -> list[dict]:
    return [{**b["data"], "submitted_at": datetime.fromisoformat(b["data"]["submitted_at"])} for b in bodies]


async def _apply_batch(connection: asyncpg.Connection, bodies: list[dict]) -> None:
    """One batch, set-based: what the service must do for it, in four statements and one transaction."""
    async with connection.transaction():
        await connection.execute("SELECT set_config('csloop.org_path', '/', true)")
        new_ids = {r[0] for r in await connection.fetch(NEW_EVENTS, [b["id"] for b in bodies], RESPONSE_SUBMITTED)}
        fresh = _responses([b for b in bodies if b["id"] in new_ids])
        inserted = {r[0] for r in await connection.fetch(NEW_RESPONSES, *_columns([
            (uuid.UUID(r["response_id"]), r["org_path"], r["kind"], r["submitted_at"], r["scores"]["index"],
             r["scores"]["nps_category"], json.dumps(r["scores"]["factors"])) for r in fresh]))}
        rollups, factors = [], []
        for r in fresh:
            if uuid.UUID(r["response_id"]) not in inserted:
                continue
            index, scores = r["scores"]["index"], r["scores"]
            values = {"responses": 1.0, "invited_responses": 1.0, "nps": NPS_VALUES[scores["nps_category"]], r["kind"]: index}
            for period in (f"{r['submitted_at']:%Y-%m}", f"{r['submitted_at']:%Y}"):  # its month's and its year's rows
                for path in OrgPath(r["org_path"]).lineage[1:]:  # of every org whose subtree holds the response
                    rollups += [(metric, period, path, value) for metric, value in values.items()]
                    factors += [(r["kind"], period, path, factor, x, index) for factor, x in scores["factors"].items()]
        await connection.execute(ROLLUPS, *_columns(rollups))
        await connection.execute(FACTORS, *_columns(factors))


async def set_based_reference(dsn: str, bodies: list[dict], *, concurrency: int, batch: int = BATCH) -> float:
    """Events per second the reference applies, `concurrency` connections each sending its share of batches."""
    connections = [await asyncpg.connect(dsn) for _ in range(concurrency)]
    batches = [bodies[i:i + batch] for i in range(0, len(bodies), batch)]
    try:
        async def sender(connection: asyncpg.Connection, chunk: list[list[dict]]) -> None:
            for one in chunk:
                await _apply_batch(connection, one)
        start = time.perf_counter()
        await asyncio.gather(*(sender(c, batches[i::concurrency]) for i, c in enumerate(connections)))
        return len(bodies) / (time.perf_counter() - start)
    finally:
        for connection in connections:
            await connection.close()


def events_for(count: int, dealer: Callable[[int], tuple[str, str]], at: datetime, factors: int) -> list[dict]:
    """`count` response events spread over the dealers (`dealer(i)` gives a code and path)."""
    return [response_event(*dealer(i), at, factors) for i in range(count)]
