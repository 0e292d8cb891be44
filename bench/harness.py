"""What every benchmark needs: the suite on PostgreSQL, a dealer with a key, wrk runs."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from cli.topology import COMPONENTS, REPLICA_PORT_STEP
from cli.up import Suite
from tests.support.databases import app_role_url, drop_postgres_databases
from tests.support.suite import Network, bootstrap_with_cli, free_port_base

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/csloop_bench"


def database_base() -> str:
    return os.environ.get("CSLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE)


@dataclass
class RunningSuite:
    suite: Suite
    network: Network
    data_dir: Path

    def stop(self) -> None:
        self.suite.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def deployed_transport(stream: str) -> dict[str, str]:
    """The environment of a deployment's event transport and shared state: events over NATS JetStream
    on a stream of the run's own (delete it with tests.support.suite.delete_nats_stream), the rate
    limits in Redis (deploy/CACHES.md) under keys of the run's own."""
    return {"CSLOOP_EVENT_TRANSPORT": "nats", "CSLOOP_NATS_STREAM": stream,
            "CSLOOP_NATS_SUBJECT_PREFIX": f"bench.{stream.lower()}",
            "CSLOOP_REDIS_URL": "redis://127.0.0.1:6379/0", "CSLOOP_REDIS_KEY_PREFIX": f"{stream}:"}


def start_suite(*, replicas: int = 1, extra_env: dict[str, str] | None = None) -> RunningSuite:
    """A fresh suite on fresh PostgreSQL databases, with a bootstrapped manufacturer; `replicas`
    processes per component (above 1, `extra_env` names NATS as the event transport)."""
    # wrk sends far past any per-key limit; the rate limiter's own cost is still paid.
    os.environ.setdefault("CSLOOP_RATE_LIMIT_PER_SECOND", "1000000")
    os.environ.setdefault("CSLOOP_RATE_LIMIT_BURST", "1000000")
    base = database_base()
    asyncio.run(drop_postgres_databases(base, [c.name for c in COMPONENTS]))
    data_dir = Path(tempfile.mkdtemp(prefix="csloop-bench-"))
    base = app_role_url(base)  # as in production: a plain role, bound by row-level security (shared/rls.py)
    suite = Suite(data_dir=data_dir, port_base=free_port_base(span=REPLICA_PORT_STEP * replicas), database_base=base,
                  replicas=replicas, extra_env=extra_env or {})
    suite.refuse_replicas_without_shared_state()
    env = {k: v for k, v in os.environ.items() if k != "CSLOOP_DATABASE_URL"} | {"CSLOOP_DATABASE_URL": base}
    credentials = bootstrap_with_cli(data_dir, "BENCH", "Bench manufacturer", env)
    suite.start()
    suite.wait_ready()
    network = Network(suite, f"http://127.0.0.1:{suite.port_base}", credentials["org_code"], credentials["api_key"])
    return RunningSuite(suite, network, data_dir)


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, float]:
        return {"req_per_s": round(self.requests_per_second), "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "errors": self.errors}


def wrk(url: str, headers: dict[str, str], *, connections: int = 32, seconds: int = 10, threads: int = 2) -> WrkResult:
    command = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(rps, _latency(output, "50%"), _latency(output, "99%"), errors + (int(non2xx[1]) if non2xx else 0))


def _latency(output: str, percentile: str) -> float:
    match = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)", output)
    value, unit = float(match[1]), match[2]
    return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)


def cpu_seconds(*pids: int) -> float:
    """User + system CPU the processes have used so far (/proc/PID/stat, fields 14 and 15)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds_of_commands(*commands: str) -> float:
    """CPU used so far by every live process running one of these programs (`postgres`: the
    server and all its backends; a backend that ended since is not counted)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while we looked
            continue
        if text[text.index("(") + 1:text.rindex(")")] in commands:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+asyncpg://...`) as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def server_counters(url: str) -> dict[str, int]:
    """PostgreSQL's whole-server counters (pg_stat_database summed) on `url`'s server: sessions
    opened, transactions committed and rolled back."""
    connection = await asyncpg.connect(asyncpg_dsn(make_url(url).set(database="postgres").render_as_string(
        hide_password=False)))
    try:
        row = await connection.fetchrow("SELECT sum(sessions)::bigint AS sessions, sum(xact_commit)::bigint AS commits,"
                                        " sum(xact_rollback)::bigint AS rollbacks FROM pg_stat_database")
        return dict(row)
    finally:
        await connection.close()


class AutovacuumStandIn:
    """ANALYZE of every component's database every `every_seconds`, in a thread, while a bench's
    load runs (`with AutovacuumStandIn(...):`). This machine's PostgreSQL runs without autovacuum
    (CI's conf.d/90-ci.conf), so tables a load grows from empty are never analyzed, and a pooled
    connection keeps the plans it made while they were small. In production autovacuum analyzes
    a table once a tenth of it has changed; its CPU is PostgreSQL's, counted with the server's."""

    def __init__(self, components: list[str], every_seconds: float = 10.0) -> None:
        base = make_url(database_base())
        self._dsns = [asyncpg_dsn(base.set(database=f"{base.database}_{name}").render_as_string(hide_password=False))
                      for name in components]
        self._every = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="autovacuum-stand-in")
        self.passes = 0

    def __enter__(self) -> "AutovacuumStandIn":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    async def _run(self) -> None:
        while not self._stop.wait(self._every):
            for dsn in self._dsns:
                connection = await asyncpg.connect(dsn)
                try:
                    await connection.execute("ANALYZE")
                finally:
                    await connection.close()
            self.passes += 1


def write_result(name: str, result: dict) -> Path:
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return path


def get_json(client: httpx.Client, path: str) -> dict:
    response = client.get(path)
    response.raise_for_status()
    return response.json()


async def previous_load(dsn: str) -> int | None:
    """The size a complete earlier load of this database recorded in its `bench_loaded` table (its
    one value: customers, answers...), so `--reuse` can skip the load; None when there was none."""
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        if await connection.fetchval("SELECT to_regclass('bench_loaded')") is None:
            return None
        return await connection.fetchval("SELECT * FROM bench_loaded")
    finally:
        await connection.close()


def wait_until_ready(client: httpx.Client, name: str) -> None:
    """Poll the service `client` points at until its /readyz answers 200 (a minute at most)."""
    for _ in range(300):
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the {name} service did not become ready")
