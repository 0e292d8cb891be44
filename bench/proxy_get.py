"""An authenticated GET of one customer four ways in one run, three rounds, medians.

    .venv/bin/python -m bench.proxy_get [--seconds 10] [--connections 32] [--rounds 3]

Through the gateway (an API key), straight to the customer service (an internal token), to
the lean reference (bench/lean_get.py: FastAPI + asyncpg doing the same work, on the same
database as the same role), and via nginx in front of the service (what a plain reverse proxy
costs on this machine). Rounds interleave the four, so a change in the machine's load touches
all alike. Needs `wrk` and `nginx` (Debian packages).
"""

import argparse
import shutil
import statistics
import sys
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import WrkResult, cpu_seconds, start_suite, wrk, write_result
from shared.auth import Principal, mint_internal_token
from tests.support.suite import free_port_base

NGINX_CONF = """
worker_processes 1;
master_process off;  # one process, whose CPU the bench reads
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  upstream service {{ server 127.0.0.1:{service_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Internal-Token "{token}";
    }}
  }}
}}
"""


def start_nginx(service_port: int, token: str) -> tuple[subprocess.Popen, int, Path]:
    prefix = Path(tempfile.mkdtemp(prefix="csloop-nginx-"))
    port = free_port_base(1)
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, service_port=service_port, port=port, token=token))
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"])
    for _ in range(50):
        try:
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, port, prefix


def start_lean(dsn: str, secret: str) -> tuple[subprocess.Popen, int]:
    port = free_port_base(1)
    process = subprocess.Popen([sys.executable, "-m", "bench.lean_get", "--port", str(port), "--dsn", dsn,
                                f"--secret={secret}"])  # a secret may begin with "-"
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, port


def measured(url: str, headers: dict[str, str], pids: list[int], connections: int, seconds: int) -> tuple[WrkResult, float]:
    """A wrk run, and the serving processes' CPU per request in ms: steadier than the rate on a
    shared machine, where the rate also counts what other processes took from these."""
    before = cpu_seconds(*pids)
    result = wrk(url, headers, connections=connections, seconds=seconds)
    return result, (cpu_seconds(*pids) - before) * 1000 / (result.requests_per_second * seconds)


def median_run(runs: list[tuple[WrkResult, float]]) -> dict[str, float]:
    return {"req_per_s": round(statistics.median(r.requests_per_second for r, _ in runs)),
            "p50_ms": statistics.median(r.p50_ms for r, _ in runs), "p99_ms": statistics.median(r.p99_ms for r, _ in runs),
            "cpu_ms_per_request": round(statistics.median(cpu for _, cpu in runs), 3),
            "errors": sum(r.errors for r, _ in runs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    running = start_suite()
    nginx = lean = None
    try:
        dealer = running.network.org("dealer", running.network.org("distributor"))
        created = dealer.client.post("/v1/customers", json={"external_id": "B-1", "dealer_code": dealer.code, "name": "基准", "phone": "13812340000"})
        created.raise_for_status()
        path = f"/v1/customers/{created.json()['id']}"
        secret = (running.data_dir / ".internal-secret").read_text().strip()
        # The token nginx and the direct run send: the dealer's principal, as the gateway mints it.
        org = dealer.client.get(f"/v1/orgs/{dealer.code}").json()
        principal = Principal("bench", dealer.code, org["path"], "dealer", (), frozenset({"customers:read", "pii:read"}))
        token = mint_internal_token(principal, secret, ttl_seconds=3600)
        service_port = running.suite.port_base + 1
        nginx, nginx_port, prefix = start_nginx(service_port, token)
        customer_db = running.suite.database_url(next(c for c in running.suite.components if c.name == "customer"))
        lean, lean_port = start_lean(customer_db.replace("postgresql+asyncpg://", "postgresql://"), secret)
        service_pid, gateway_pid = running.suite.processes["customer"].pid, running.suite.processes["gateway"].pid
        # Each target's URL, headers, and the processes whose CPU it costs.
        targets = {
            "gateway": (f"{running.network.url}{path}", {"Authorization": f"Bearer {dealer.key}"}, [gateway_pid, service_pid]),
            "service": (f"http://127.0.0.1:{service_port}{path}", {"X-Internal-Token": token}, [service_pid]),
            "lean": (f"http://127.0.0.1:{lean_port}{path}", {"X-Internal-Token": token}, [lean.pid]),
            "nginx": (f"http://127.0.0.1:{nginx_port}{path}", {}, [nginx.pid, service_pid]),
        }
        for url, headers, _pids in targets.values():  # warm every pool and cache before the first round
            wrk(url, headers, connections=args.connections, seconds=2)
        rounds: dict[str, list[tuple[WrkResult, float]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, headers, pids) in targets.items():
                rounds[name].append(measured(url, headers, pids, args.connections, args.seconds))
    finally:
        for process in (nginx, lean):
            if process:
                process.terminate()
                process.wait()
        if nginx:
            shutil.rmtree(prefix, ignore_errors=True)
        running.stop()
    result = {name: median_run(runs) for name, runs in rounds.items()}
    lean_rps, lean_p99 = result["lean"]["req_per_s"], result["lean"]["p99_ms"]
    result["ratios"] = {
        "customer_get/service": round(result["service"]["req_per_s"] / lean_rps, 2),
        "customer_get/gateway": round(result["gateway"]["req_per_s"] / lean_rps, 2),
        "customer_get/gateway_p99_over_lean": round(result["gateway"]["p99_ms"] / lean_p99, 2),
        "customer_get/gateway_over_nginx": round(result["gateway"]["req_per_s"] / result["nginx"]["req_per_s"], 2),
        # The same ratios from CPU per request, which another process's load does not move.
        "customer_get/service_by_cpu": round(result["lean"]["cpu_ms_per_request"] / result["service"]["cpu_ms_per_request"], 2),
        "customer_get/gateway_by_cpu": round(result["lean"]["cpu_ms_per_request"] / result["gateway"]["cpu_ms_per_request"], 2),
    }
    result["connections"], result["seconds"], result["rounds"] = args.connections, args.seconds, args.rounds
    result["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    write_result("proxy_get", result)


if __name__ == "__main__":
    main()
