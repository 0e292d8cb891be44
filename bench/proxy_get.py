"""An authenticated GET three ways in one run: through the gateway, straight to the service, via nginx.

    .venv/bin/python -m bench.proxy_get [--seconds 10] [--connections 32]

nginx forwards to the same service with a fixed internal token: the reference for what a
plain reverse proxy costs on this machine. Needs `wrk` and `nginx` (Debian packages).
"""

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import start_suite, wrk, write_result
from shared.auth import Principal, mint_internal_token
from tests.support.suite import free_port_base

NGINX_CONF = """
worker_processes 1;
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    running = start_suite()
    nginx = None
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
        runs = {
            "gateway": wrk(f"{running.network.url}{path}", {"Authorization": f"Bearer {dealer.key}"}, connections=args.connections, seconds=args.seconds),
            "direct": wrk(f"http://127.0.0.1:{service_port}{path}", {"X-Internal-Token": token}, connections=args.connections, seconds=args.seconds),
            "nginx": wrk(f"http://127.0.0.1:{nginx_port}{path}", {}, connections=args.connections, seconds=args.seconds),
        }
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait()
            shutil.rmtree(prefix, ignore_errors=True)
        running.stop()
    result = {name: run.as_dict() for name, run in runs.items()}
    result["gateway_to_nginx_ratio"] = round(runs["gateway"].requests_per_second / runs["nginx"].requests_per_second, 3)
    result["connections"], result["seconds"] = args.connections, args.seconds
    write_result("proxy_get", result)


if __name__ == "__main__":
    main()
