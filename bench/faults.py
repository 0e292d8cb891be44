"""Faults during the mixed load, then an audit: nothing accepted is lost, nothing happens twice.

    .venv/bin/python -m bench.faults [--rate 15] [--gap 10] [--no-postgres-restart]   (make reliability)

While bench/load_mixed.py runs through the gateway, each service in turn (customer, survey,
complaint, kpi: each also runs its outbox relay) is killed with SIGKILL and started again
with the same command and environment; then PostgreSQL is restarted once. When the load is
over and every outbox is drained, the audit reads the databases (as the superuser):
- every accepted write (2xx) is stored exactly once: imported customers, repair orders,
  survey responses; a complaint's version grew by exactly its accepted updates;
- every event had its effect exactly once: one service follow-up per repair order, one KPI
  fact per visit and response, and the KPI rollups count exactly the facts;
- the KPI counts equal the accepted records.
A write whose answer never came (the process died under it) may be stored or not, never twice.
Exits 1 when any check fails. Restarting PostgreSQL disturbs every other user of the server
for a few seconds: this is not part of CI.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.harness import database_base, start_suite, write_result
from bench.load_mixed import Ledger, MixedLoad, prepare
from cli.topology import url_of
from cli.up import Suite

SERVICES = ("customer", "survey", "complaint", "kpi")
# KPI rollup rows each hold an org's whole subtree, by month and by year: the root orgs' monthly
# rows count every record once.
WHOLE_TREE = "org_path ~ '^/[^/]+/$' AND length(month) = 7"
# Events not handed over to their deliveries yet, and deliveries not made yet (shared/outbox.py).
UNDELIVERED = ("SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)"
               " + (SELECT count(*) FROM outbox_deliveries WHERE sent_at IS NULL)")


def kill_and_restart(suite: Suite, name: str, down_seconds: float = 1.0) -> float:
    """SIGKILL the process, start it again as `csloop up` did; the seconds until it is ready again."""
    instance = suite.instance(name)
    old = suite.processes[name]
    started = time.monotonic()
    os.kill(old.pid, signal.SIGKILL)
    old.wait()
    time.sleep(down_seconds)
    suite.start_instance(instance)
    wait_ready(suite.url(instance) + "/readyz")
    return round(time.monotonic() - started, 1)


def wait_ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


def restart_postgres() -> float:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True, timeout=120)
    return round(time.monotonic() - started, 1)


def fault_schedule(suite: Suite, gap: float, postgres: bool) -> list[dict[str, Any]]:
    done = []
    for name in SERVICES:
        time.sleep(gap)
        done.append({"fault": f"kill -9 {name} (and its relay)", "back_after_s": kill_and_restart(suite, name)})
    if postgres:
        time.sleep(gap)
        done.append({"fault": "PostgreSQL restart", "took_s": restart_postgres()})
        for component in suite.components:
            wait_ready(url_of(component, suite.port_base) + "/readyz")
    return done


class Databases:
    """The suite's databases, read as the superuser (row-level security does not hide anything from it)."""

    def __init__(self, suite: Suite, superuser_base: str | None = None) -> None:
        base = make_url(superuser_base or database_base()).set(drivername="postgresql")
        self.urls = {c.name: base.set(database=f"{base.database}_{c.name}").render_as_string(hide_password=False)
                     for c in suite.components}

    async def rows(self, name: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.urls[name])
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()

    async def value(self, name: str, sql: str, *args: Any) -> Any:
        return (await self.rows(name, sql, *args))[0][0]

    async def settled(self, timeout: float = 240.0) -> float:
        """Seconds until no outbox holds an unsent event and the KPI facts stop changing."""
        started = time.monotonic()
        previous = None
        while time.monotonic() - started < timeout:
            pending = sum([await self.value(n, UNDELIVERED) for n in SERVICES])
            facts = await self.value("kpi", "SELECT (SELECT count(*) FROM kpi_visits) + (SELECT count(*) FROM kpi_responses)"
                                            " + (SELECT count(*) FROM kpi_followups)")
            if pending == 0 and facts == previous:
                return round(time.monotonic() - started, 1)
            previous = facts
            await asyncio.sleep(2)
        raise RuntimeError(f"events still pending after {timeout:.0f} s")


async def audit(db: Databases, ledger: Ledger, month: str) -> dict[str, Any]:
    checks: dict[str, Any] = {}

    def check(name: str, ok: bool, detail: Any) -> None:
        checks[name] = {"ok": bool(ok), "detail": detail}

    # Imported customers: every accepted row once; an unanswered import at most once.
    imported = Counter({r["external_id"]: r["n"] for r in await db.rows(
        "customer", "SELECT external_id, count(*) AS n FROM customers WHERE external_id LIKE 'LOAD-%' GROUP BY 1")})
    accepted_ids = [i for _, ids in ledger.accepted["dms_import"] for i in ids]
    check("imports: accepted rows stored exactly once", all(imported[i] == 1 for i in accepted_ids)
          and max(imported.values(), default=1) == 1, {"accepted_rows": len(accepted_ids), "stored": sum(imported.values())})
    # Repair orders, and their events' effects in customer (follow-ups) and kpi (facts).
    visits = {r["ro_number"]: r["n"] for r in await db.rows(
        "customer", "SELECT ro_number, count(*) AS n FROM service_visits GROUP BY 1")}
    accepted_ros = [ro for _, ro in ledger.accepted["repair_order"]]
    unknown_ros = [ro for _, ro in ledger.unknown["repair_order"]]
    check("repair orders: accepted stored exactly once, unanswered at most once",
          all(visits.get(ro) == 1 for ro in accepted_ros) and all(visits.get(ro, 0) <= 1 for ro in unknown_ros),
          {"accepted": len(accepted_ros), "unanswered": len(unknown_ros), "stored": sum(visits.values())})
    followups = await db.rows("customer", "SELECT v.ro_number, count(f.id) AS n FROM service_visits v LEFT JOIN follow_ups f"
                                          " ON f.ro_number = v.ro_number AND f.kind = 'service' GROUP BY 1")
    check("repair orders: exactly one service follow-up each (event effect)", all(r["n"] == 1 for r in followups),
          {"visits": len(followups), "not_one": [dict(r) for r in followups if r["n"] != 1][:5]})
    kpi_visits = await db.value("kpi", "SELECT count(*) FROM kpi_visits")
    check("KPI: one visit fact per stored visit", kpi_visits == sum(visits.values()),
          {"kpi_visits": kpi_visits, "service_visits": sum(visits.values())})
    # Survey responses: one per accepted submission, the KPI facts and rollups count them exactly.
    responses = Counter({str(r["invitation_id"]): r["n"] for r in await db.rows(
        "survey", "SELECT invitation_id, count(*) AS n FROM survey_responses GROUP BY 1")})
    accepted_inv = ledger.accepted["survey_submission"]
    check("survey responses: accepted stored exactly once", all(responses[i] == 1 for i in accepted_inv)
          and max(responses.values(), default=1) == 1, {"accepted": len(accepted_inv), "stored": sum(responses.values())})
    kpi_responses = await db.value("kpi", "SELECT count(*) FROM kpi_responses")
    rolled = await db.value("kpi", f"SELECT coalesce(sum(n), 0) FROM kpi_rollups WHERE metric = 'responses' AND {WHOLE_TREE}")
    check("KPI: response facts and the 'responses' rollup equal the stored responses",
          kpi_responses == rolled == sum(responses.values()),
          {"kpi_responses": kpi_responses, "rollup_n": rolled, "survey_responses": sum(responses.values())})
    csi_facts = await db.value("kpi", "SELECT count(*) FROM kpi_responses WHERE kind = 'csi' AND index_score IS NOT NULL")
    csi_rolled = await db.value("kpi", f"SELECT coalesce(sum(n), 0) FROM kpi_rollups WHERE metric = 'csi' AND {WHOLE_TREE}")
    check("KPI: the CSI rollup counts each scored CSI response once", csi_facts == csi_rolled,
          {"csi_facts": csi_facts, "csi_rollup_n": csi_rolled})
    # Complaint updates: each accepted If-Match PATCH bumped the version exactly once.
    versions = {str(r["id"]): r["version"] for r in await db.rows("complaint", "SELECT id, version FROM complaints")}
    accepted_upd, unknown_upd = Counter(ledger.accepted["complaint_update"]), Counter(ledger.unknown["complaint_update"])
    off = {c: (versions[c], n) for c, n in accepted_upd.items()
           if not n <= versions[c] - 1 <= n + unknown_upd[c]}
    check("complaint updates: versions grew by exactly the accepted updates", not off,
          {"accepted": sum(accepted_upd.values()), "unanswered": sum(unknown_upd.values()), "off": list(off.items())[:5]})
    kpi_complaints = await db.value("kpi", "SELECT count(*) FROM kpi_complaints")
    check("KPI: one complaint fact per case", kpi_complaints == len(versions),
          {"kpi_complaints": kpi_complaints, "complaints": len(versions)})
    return checks


def logged_errors(suite: Suite) -> dict[str, int]:
    """What the processes logged as unhandled errors, by process and exception class (the logs go with the suite)."""
    found: Counter[str] = Counter()
    for log in (suite.data_dir / "logs").glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"level": "error"' in line and "unhandled error" in line:
                try:
                    found[f"{log.stem}: {json.loads(line)['exc_info'][0]}"] += 1
                except (ValueError, KeyError, IndexError):
                    found[f"{log.stem}: unparsed"] += 1
    return dict(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--gap", type=float, default=10.0, help="seconds between faults")
    parser.add_argument("--dealers", type=int, default=3)
    parser.add_argument("--no-postgres-restart", action="store_true")
    args = parser.parse_args()
    faults = len(SERVICES) + (0 if args.no_postgres_restart else 1)
    seconds = args.gap * (faults + 2)
    running = start_suite()
    try:
        dealers, survey = prepare(running.network, args.dealers)
        load = MixedLoad(running.network.url, dealers)
        load.survey_id, load.owner_key = survey, running.network.manufacturer.key

        async def under_faults() -> tuple[Ledger, list[dict[str, Any]]]:
            return await asyncio.gather(load.run(args.rate, seconds),
                                        asyncio.to_thread(fault_schedule, running.suite, args.gap, not args.no_postgres_restart))

        ledger, done = asyncio.run(under_faults())
        db = Databases(running.suite)
        drained = asyncio.run(db.settled())
        checks = asyncio.run(audit(db, ledger, load.month))
        logged = logged_errors(running.suite)
    finally:
        running.stop()
    result = {"rate_per_s": args.rate, "seconds": seconds, "faults": done, "drained_after_s": drained,
              "load": ledger.report(), "checks": checks, "logged_errors": logged}
    write_result("faults", result)
    failed = [name for name, c in checks.items() if not c["ok"]]
    print(json.dumps({"failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
