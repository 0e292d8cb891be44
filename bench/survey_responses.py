"""Public survey submissions per second: the survey service against its lean reference, in one run.

    .venv/bin/python -m bench.survey_responses [--seconds 10] [--connections 16] [--rounds 3] [--one-device] [--integrity]

Every submission is a full CSI answer set POSTed to `/v1/public/surveys/{token}/responses`
(no key: the token is the credential), each to an invitation of its own. Three targets:

- service: straight to the survey service, which validates the answers against the pinned
  version, scores them, checks the alert rules and writes the response, the invitation's new
  status and `survey.response.submitted` (with `survey.alert.raised` when a rule fired) in
  one transaction, with row-level security on;
- lean: bench/lean_survey.py, FastAPI and asyncpg doing the same unit of work on the same
  database, as the same role, served the same way (uvicorn, uvloop, httptools), straight;
- gateway: the survey service through the gateway, as a customer's phone reaches it.

Like is compared with like: service and lean are both reached directly; the gateway figure
shows what the edge adds. Both write into the survey database's outbox, which the survey
service's relay fans out alike. The KPI and complaint services, whose work on these events
is ingestion (bench/kpi_queries.py measures it), not submission, are stopped for the bench:
their deliveries wait, refused, and cost the relay next to nothing. (On this shared 2-core
machine they otherwise take most of a core behind each run, and when a batch of 200 events
takes them longer than the relay's 5 s timeout, the relay backs off for minutes.) Before each
run the outbox is drained: every event handed over, every delivery to the gateway made, so
no run pays for another's events. The targets take turns in a rotated order, round after
round; the ratio is the median over the rounds of service / lean, in responses created (201)
per second. wrk drives the load (a Lua script hands each request the next unused token), so
the load generator costs the 2 cores little. CPU per response is the serving processes' own
(service: the survey process, relay included; gateway: the gateway and the survey process;
lean: its process): on a shared machine it is steadier than the rates.

Invitations are written straight into the database before each run (setup, not measured):
`sent`, expiring in 14 days, to the dealer of a published CSI survey. Each customer answers from a
phone of their own (a user agent per request) and writes words of their own, as customers do:
the integrity rules (issue 17) then read the same dealer's history on every submission and find
no group. `--one-device` sends every submission from one device with the same 77 texts, the
rules' worst case (every response joins the shared-device and duplicate-text groups: one more
statement each, and the groups' counts grow through the run); the survey_submission figure was
measured that way until 2026-12-04 12:20.

`--integrity` (issue 17) measures the submission through the gateway with the survey integrity
checks on against the same with them off, in one run: two dealers under two distributors,
each with a published CSI survey; one distributor switches every flag off for its subtree
(`PUT /v1/survey-integrity/rules`, as scripted traffic does: no code path production lacks),
the other keeps the defaults (all on) and sets its dealer's networks (a network the bench's
127.0.0.1 is not in: the common case, a customer at home; the gateway's index is consulted,
no token look-up is needed). Both targets are the gateway; on/off is the ratio of created
responses per second, median over the rounds. The gateway hashes address and device on both
(it always does); the survey service's rules are what differs.
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import RunningSuite, cpu_seconds, database_base, start_suite, write_result
from cli.topology import url_of
from tests.support.databases import app_role_url
from tests.support.suite import free_port_base, stop_component

ROWS = {"initiation": ["appointment", "greeting"],
        "advisor": ["courtesy", "honesty", "knowledge", "understanding", "explaining"],
        "facility": ["cleanliness", "comfort", "amenities"],
        "pickup": ["on_time", "explanation", "payment", "cleanliness"],
        "quality": ["diagnosis", "fixed_right", "complete"]}
BODIES = 77  # distinct answer sets, sent in turn

# Each wrk thread reads its own token file and sends each token once; a thread that runs out
# stops, and a request made past the end names no invitation (a 404, counted as an error).
WRK_SCRIPT = """
local counter, threads, tokens, bodies, n = 0, {}, {}, {}, 0
statuses = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  distinct = args[2] == "distinct"
  for line in io.lines(args[1] .. "/tokens-" .. id .. ".txt") do tokens[#tokens + 1] = line end
  for line in io.lines(args[1] .. "/bodies.txt") do bodies[#bodies + 1] = line end
end
function request()
  n = n + 1
  local token = tokens[n] or "exhausted"
  local body = bodies[n % #bodies + 1]
  if distinct then
    -- Each customer on a phone of their own, writing words of their own (each "%s" of the texts).
    body = body:gsub("%%s", token)
  end
  return wrk.format("POST", "/v1/public/surveys/" .. token .. "/responses",
                    {["Content-Type"] = "application/json", ["User-Agent"] = distinct and ("phone/" .. token) or nil},
                    body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if n >= #tokens then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
  end
  for status, count in pairs(total) do io.write(string.format("status %d %d\\n", status, count)) end
end
"""


def answers(n: int, distinct: bool = False) -> dict[str, Any]:
    """A varied, valid CSI answer set; the NPS answers run 0-10 in turn, and a detractor says why.
    `distinct`: the free texts have a "%s" the wrk script fills with the request's token."""
    score = 4 + n % 7
    nps = n % 11
    body: dict[str, Any] = {code: {row: score for row in rows} for code, rows in ROWS.items()}
    body |= {"fixed_first_time": "yes" if n % 13 else "no", "nps": nps,
             "comment": "服务很好，谢谢 %s" if distinct else "服务很好，谢谢"}
    if nps <= 6:
        body["nps_reason"] = "等待时间有点长 %s" if distinct else "等待时间有点长"
    return body


def asyncpg_dsn(base: str, component: str) -> str:
    url = make_url(base)
    url = url.set(drivername="postgresql", database=f"{url.database}_{component}")
    return url.render_as_string(hide_password=False)


async def survey_database() -> asyncpg.Connection:
    """The survey database, as the superuser; waits while a busy server has no connection slot."""
    for _ in range(120):
        try:
            return await asyncpg.connect(asyncpg_dsn(database_base(), "survey"))
        except asyncpg.TooManyConnectionsError:
            await asyncio.sleep(1)
    raise RuntimeError("no PostgreSQL connection slot for two minutes")


async def mint_invitations(survey_id: str, count: int) -> list[str]:
    """`count` sent invitations to the survey's own dealer, written as the superuser (setup only)."""
    connection = await survey_database()
    try:
        survey = await connection.fetchrow("SELECT org_code, org_path, kind, published_version FROM surveys "
                                           "WHERE id = $1", uuid.UUID(survey_id))
        now = datetime.now(UTC)
        tokens = [secrets.token_urlsafe(24) for _ in range(count)]
        await connection.copy_records_to_table("invitations", columns=[
            "id", "token", "survey_id", "survey_version", "kind", "customer_id", "dealer_code", "org_path", "channel",
            "status", "due_at", "sent_at", "expires_at", "created_at", "updated_at",
        ], records=[(uuid.uuid4(), token, uuid.UUID(survey_id), survey["published_version"], survey["kind"],
                     uuid.uuid4(), survey["org_code"], survey["org_path"], "sms", "sent", now, now,
                     now + timedelta(days=14), now, now) for token in tokens])
        # This machine's PostgreSQL runs without autovacuum (CI's conf.d/90-ci.conf); in production
        # it would analyze the tables this bulk load grew, and the services' plans follow it.
        await connection.execute("ANALYZE")
        return tokens
    finally:
        await connection.close()


async def drain_outbox(stopped: list[str], timeout: float = 600) -> float:
    """Wait until the survey service's relay has handed over every event and delivered it to every
    running subscriber; seconds waited."""
    connection = await survey_database()
    started = time.monotonic()
    try:
        while await connection.fetchval(
                "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL) + (SELECT count(*) FROM outbox_deliveries "
                "WHERE sent_at IS NULL AND NOT subscriber = ANY($1::text[]))", stopped):
            if time.monotonic() - started > timeout:
                pending = await connection.fetch("SELECT subscriber, count(*) AS n, max(attempts) AS attempts "
                                                 "FROM outbox_deliveries WHERE sent_at IS NULL GROUP BY 1")
                raise RuntimeError(f"the survey outbox did not drain: {[dict(row) for row in pending]}")
            await asyncio.sleep(0.5)
        return round(time.monotonic() - started, 1)
    finally:
        await connection.close()


async def stored_counts() -> dict[str, int]:
    connection = await survey_database()
    try:
        return {
            "responses_stored": await connection.fetchval("SELECT count(*) FROM survey_responses"),
            "scored": await connection.fetchval("SELECT count(*) FROM survey_responses WHERE score_index IS NOT NULL"),
            "submitted_events": await connection.fetchval(
                "SELECT count(*) FROM outbox WHERE type = 'survey.response.submitted'"),
            "invitations_responded": await connection.fetchval(
                "SELECT count(*) FROM invitations WHERE status = 'responded'"),
        }
    finally:
        await connection.close()


def run_wrk(url: str, tokens: list[str], *, seconds: int, connections: int, threads: int = 2,
            distinct: bool = False) -> dict[str, Any]:
    """wrk POSTing each token once (see WRK_SCRIPT); req/s counts answered requests over the run.
    `distinct`: every request from a device (user agent) and with a comment of its own."""
    work = Path(tempfile.mkdtemp(prefix="csloop-survey-bench-"))
    try:
        (work / "submit.lua").write_text(WRK_SCRIPT)
        (work / "bodies.txt").write_text("".join(json.dumps({"answers": answers(n, distinct)}, ensure_ascii=False) + "\n"
                                                 for n in range(BODIES)))
        for thread in range(threads):
            (work / f"tokens-{thread}.txt").write_text("".join(t + "\n" for t in tokens[thread::threads]))
        output = subprocess.run(
            ["wrk", "--latency", "--timeout", "10s", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(work / "submit.lua"),
             url, "--", str(work), "distinct" if distinct else "same"], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    requests = int(re.search(r"(\d+) requests in", output)[1])
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return {"req_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])), "requests": requests,
            "p50_ms": _latency(output, "50%"), "p99_ms": _latency(output, "99%"),
            "errors": socket_errors + (int(non2xx[1]) if non2xx else 0),
            "statuses": {status: int(count) for status, count in re.findall(r"^status (\d+) (\d+)$", output, re.M)}}


def _latency(output: str, percentile: str) -> float:
    match = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\b", output)
    value, unit = float(match[1]), match[2]
    return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)


def start_lean(port: int) -> subprocess.Popen:
    """bench/lean_survey.py on the survey database, as the plain role the services use."""
    dsn = asyncpg_dsn(app_role_url(database_base()), "survey")
    process = subprocess.Popen([sys.executable, "-m", "bench.lean_survey", "--port", str(port), "--database-url", dsn])
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the lean reference did not start")


# The consumers of survey events besides the gateway (which serves one of the targets).
STOPPED = ("kpi", "complaint")


def stop_consumers(running: RunningSuite) -> list[str]:
    """Stop the KPI and complaint services; their base URLs (the relay's names for them)."""
    for name in STOPPED:
        stop_component(running.suite, name)
    return [url_of(component, running.suite.port_base) for component in running.suite.components
            if component.name in STOPPED]


def median_of(rounds: list[dict[str, Any]], target: str, field: str) -> float:
    return statistics.median(r[target][field] for r in rounds)


def measure(running: RunningSuite, lean: subprocess.Popen | None, target: str, url: str, tokens: list[str],
            stopped: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """One run against one target, the outbox drained first; rates and CPU count created responses."""
    drained = asyncio.run(drain_outbox(stopped))
    load = os.getloadavg()[0]
    survey = running.suite.processes["survey"].pid
    serving = {"lean": [lean.pid] if lean else [], "service": [survey], "gateway": [survey, running.suite.processes["gateway"].pid]}
    cpu_before, survey_before = cpu_seconds(*serving[target]), cpu_seconds(survey)
    result = run_wrk(url, tokens, seconds=args.seconds, connections=args.connections,
                     distinct=not args.one_device)
    created = max(1, result["statuses"].get("201", 0))
    return result | {
        "created_per_s": round(created / args.seconds, 1),
        "cpu_ms_per_response": round((cpu_seconds(*serving[target]) - cpu_before) * 1000 / created, 2),
        # In the lean run, the survey process only relays the lean reference's events.
        "survey_process_cpu_ms_per_response": round((cpu_seconds(survey) - survey_before) * 1000 / created, 2),
        "drain_wait_s": drained, "load_average_1m": round(load, 2),
    }


def published_csi_survey(running: RunningSuite, integrity: bool | None = None) -> str:
    """A published CSI survey of a new dealer under a new distributor; `integrity` False: the
    distributor switches every integrity flag off for its subtree, True: the dealer gets networks."""
    distributor = running.network.org("distributor")
    dealer = running.network.org("dealer", distributor)
    if integrity is False:
        running.network.manufacturer.client.put("/v1/survey-integrity/rules", json={
            "org_code": distributor.code, "flags": {flag: {"on": False} for flag in INTEGRITY_FLAGS}}).raise_for_status()
    elif integrity:
        running.network.manufacturer.client.put(f"/v1/orgs/{dealer.code}/networks",
                                                json={"cidrs": ["198.51.100.0/24"]}).raise_for_status()
    created = dealer.client.post("/v1/surveys", json={"template": "csi"})
    created.raise_for_status()
    dealer.client.post(f"/v1/surveys/{created.json()['id']}/publish").raise_for_status()
    return created.json()["id"]


INTEGRITY_FLAGS = ("speeder", "straight_line", "shared_device", "dealer_network", "duplicate_text", "dealer_spike")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=15000, help="invitations minted per run (more than it answers)")
    parser.add_argument("--integrity", action="store_true", help="the gateway path with integrity checks on vs off")
    parser.add_argument("--one-device", action="store_true",
                        help="every submission from one device with the same texts (the integrity rules' worst case)")
    parser.add_argument("--distinct-devices", action="store_true",
                        help="with --integrity: each submission from a device and with a comment of its own")
    args = parser.parse_args()
    if args.integrity:
        return integrity_main(args)
    running = start_suite()
    lean_port = free_port_base(1)
    lean = start_lean(lean_port)
    try:
        survey_id = published_csi_survey(running)
        stopped = stop_consumers(running)
        urls = {"service": f"http://127.0.0.1:{running.suite.port_base + 2}", "lean": f"http://127.0.0.1:{lean_port}",
                "gateway": running.network.url}
        targets = list(urls)
        # Warm every target (connections, prepared statements, the version caches) before measuring.
        for url in urls.values():
            run_wrk(url, asyncio.run(mint_invitations(survey_id, 500)), seconds=2, connections=args.connections,
                    distinct=not args.one_device)
        rounds: list[dict[str, Any]] = []
        for number in range(args.rounds):
            turn = targets[number % len(targets):] + targets[:number % len(targets)]
            measured = {target: measure(running, lean, target, urls[target],
                                        asyncio.run(mint_invitations(survey_id, args.tokens)), stopped, args)
                        for target in turn}
            for target in ("service", "gateway"):
                measured[f"{target}_vs_lean"] = round(
                    measured[target]["created_per_s"] / max(0.1, measured["lean"]["created_per_s"]), 3)
            print(json.dumps(measured), flush=True)
            rounds.append(measured)
        asyncio.run(drain_outbox(stopped))
        write_result("survey_responses", {
            "what": "full CSI responses POSTed to the public API: validated, scored, alert-checked, stored with the "
                    "invitation claimed and the outbox event in one transaction; service and lean reference reached "
                    "directly, the service also through the gateway",
            "seconds": args.seconds, "connections": args.connections, "one_device": args.one_device, "rounds": rounds,
            "median": {target: {field: median_of(rounds, target, field)
                                for field in ("created_per_s", "p50_ms", "p99_ms", "cpu_ms_per_response")}
                       for target in targets},
            "survey_submission": statistics.median(r["service_vs_lean"] for r in rounds),
            "survey_submission_through_gateway": statistics.median(r["gateway_vs_lean"] for r in rounds),
            "stored": asyncio.run(stored_counts()), "cpus": os.cpu_count(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        })
    finally:
        lean.terminate()
        lean.wait(timeout=10)
        running.stop()


def integrity_main(args: argparse.Namespace) -> None:
    """Issue 17: submissions through the gateway, integrity checks on against off, in turns."""
    running = start_suite()
    try:
        surveys = {"integrity_on": published_csi_survey(running, True),
                   "integrity_off": published_csi_survey(running, False)}
        stopped = stop_consumers(running)
        url, targets = running.network.url, list(surveys)
        for survey_id in surveys.values():
            run_wrk(url, asyncio.run(mint_invitations(survey_id, 500)), seconds=2, connections=args.connections,
                    distinct=args.distinct_devices)
        rounds: list[dict[str, Any]] = []
        for number in range(args.rounds):
            turn = targets[number % 2:] + targets[:number % 2]
            # measure()'s CPU is the gateway's and the survey process's, as for its "gateway" target.
            measured = {target: measure(running, None, "gateway", url,
                                        asyncio.run(mint_invitations(surveys[target], args.tokens)), stopped, args)
                        for target in turn}
            measured["on_vs_off"] = round(measured["integrity_on"]["created_per_s"]
                                          / max(0.1, measured["integrity_off"]["created_per_s"]), 3)
            print(json.dumps(measured), flush=True)
            rounds.append(measured)
        asyncio.run(drain_outbox(stopped))
        write_result("survey_integrity_distinct" if args.distinct_devices else "survey_integrity", {
            "what": "full CSI responses POSTed to the public API through the gateway, survey integrity checks on "
                    "(the defaults, the dealer's networks set) against off (every flag off for the subtree)",
            "distinct_devices": args.distinct_devices,
            "seconds": args.seconds, "connections": args.connections, "rounds": rounds,
            "median": {target: {field: median_of(rounds, target, field)
                                for field in ("created_per_s", "p50_ms", "p99_ms", "cpu_ms_per_response")}
                       for target in targets},
            "survey_submission_integrity_on_vs_off": statistics.median(r["on_vs_off"] for r in rounds),
            "stored": asyncio.run(stored_counts()), "cpus": os.cpu_count(),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        })
    finally:
        running.stop()


if __name__ == "__main__":
    main()
