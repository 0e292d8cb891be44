"""The processes docker-compose.yml describes, started with exactly its commands and environments.

Only what a container would change is changed: service names become 127.0.0.1, each
container's port 8000 becomes a free local port, `python` is this interpreter, the
database URLs point at the test PostgreSQL (compose runs every service on PostgreSQL), and
the gateway's Redis is this machine's.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from tests.deploy import files
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url
from tests.support.suite import free_port_base

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not postgres_base_url(), reason="compose runs every service on PostgreSQL; "
                       "set CSLOOP_TEST_DATABASE_URL to run its processes"),
]

READY_TIMEOUT_SECONDS = 90.0
_URL = re.compile(r"http://(?P<host>[a-z][a-z0-9-]*):(?P<port>\d+)")
# The Redis of this machine, in a database of this test's own (compose's gateway uses its Redis's 0).
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/12"


class ComposeOnThisMachine:
    """Maps container addresses to local ones, and compose databases to test databases."""

    def __init__(self, spec: dict[str, Any], test_database: str) -> None:
        self.spec = spec
        self.services = files.csloop_services(spec)
        base = free_port_base(len(self.services))
        self.ports = {name: base + i for i, name in enumerate(sorted(self.services))}
        self.test_database = make_url(test_database)
        # The example's placeholders, but for the webhook key: a placeholder is not a Fernet key, and
        # the gateway refuses to start without a real one (as a deployer generates it).
        self.variables = files.env_file() | {"CSLOOP_WEBHOOKS_SECRET_KEYS": Fernet.generate_key().decode()}

    def local_url(self, match: re.Match[str]) -> str:
        host, port = match.group("host", "port")
        if host == "localhost":  # the Docker host: a published port
            host = next(name for name, service in self.services.items() if f"{port}:8000" in service.get("ports", []))
            port = "8000"
        assert host in self.services, f"{host} is not a compose service"
        assert port == files.option(self.services[host]["command"], "--port"), f"{host} does not listen on {port}"
        return f"http://127.0.0.1:{self.ports[host]}"

    def database(self, compose_url: str) -> str:
        name = make_url(compose_url).database
        return self.test_database.set(database=f"{self.test_database.database}_{name}").render_as_string(hide_password=False)

    def redis(self, compose_url: str) -> str:
        host = urlsplit(compose_url).hostname
        assert self.spec["services"][host]["command"][0] == "redis-server", f"{host} is not a compose Redis"
        return LOCAL_REDIS_URL

    def environment(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSLOOP_")}
        for key, value in self.services[name]["environment"].items():
            value = files.interpolate(str(value), self.variables)
            if key == "CSLOOP_DATABASE_URL":
                env[key] = self.database(value)
            elif key == "CSLOOP_REDIS_URL":
                env[key] = self.redis(value)
            else:
                env[key] = _URL.sub(self.local_url, value)
        return env

    def command(self, name: str) -> list[str]:
        argv = list(self.services[name]["command"])
        assert argv[0] == "python"
        argv[0] = sys.executable
        argv[argv.index("--host") + 1] = "127.0.0.1"
        argv[argv.index("--port") + 1] = str(self.ports[name])
        return argv

    def healthcheck(self, name: str) -> list[str]:
        """The compose healthcheck, run beside the process instead of inside its container."""
        test = list(self.services[name]["healthcheck"]["test"])
        assert test[:2] == ["CMD", "python"]
        inside = f"http://127.0.0.1:{files.option(self.services[name]['command'], '--port')}/"
        return [sys.executable] + [arg.replace(inside, self.url(name) + "/") for arg in test[2:]]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeOnThisMachine]:
    # As in compose: the processes log in as the plain role (they refuse a superuser).
    base = postgres_base_url() or ""
    compose = ComposeOnThisMachine(files.compose(), app_role_url(base))
    databases = [make_url(s["environment"]["CSLOOP_DATABASE_URL"]).database for s in compose.services.values()]
    asyncio.run(drop_postgres_databases(base, databases))
    logs = tmp_path_factory.mktemp("compose-logs")
    processes = {}
    for name in compose.services:
        with open(logs / f"{name}.log", "wb") as log:
            processes[name] = subprocess.Popen(compose.command(name), env=compose.environment(name),
                                               stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path_factory.mktemp(name))
    try:
        _wait_ready(compose, processes, logs)
        yield compose
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(drop_postgres_databases(base, databases))


def _wait_ready(compose: ComposeOnThisMachine, processes: dict[str, subprocess.Popen[bytes]], logs: Path) -> None:
    pending = set(processes)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while pending:
        for name in sorted(pending):
            if processes[name].poll() is not None:
                pytest.fail(f"{name} exited: {(logs / f'{name}.log').read_text()[-3000:]}")
            try:
                if httpx.get(compose.url(name) + "/readyz", timeout=2).status_code == 200:
                    pending.discard(name)
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            pytest.fail(f"not ready after {READY_TIMEOUT_SECONDS:.0f} s: {sorted(pending)}")
        time.sleep(0.2)


class TestComposeProcesses:
    def test_every_process_is_ready_and_its_compose_healthcheck_passes(self, suite: ComposeOnThisMachine) -> None:
        for name in suite.services:
            assert httpx.get(suite.url(name) + "/readyz", timeout=5).json() == {"status": "ok"}
            check = subprocess.run(suite.healthcheck(name), capture_output=True, text=True, timeout=30)
            assert check.returncode == 0, check.stderr

    def test_bootstrap_with_the_gateways_environment_then_an_authenticated_call_through_it(
            self, suite: ComposeOnThisMachine, tmp_path: Path) -> None:
        env = suite.environment("gateway")
        code = f"OEM{uuid.uuid4().hex[:6].upper()}"
        result = subprocess.run(
            [sys.executable, "-m", "cli", "admin", "bootstrap", "--database-url", env["CSLOOP_DATABASE_URL"],
             "--code", code, "--name", "Compose test manufacturer"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=True,
        )
        key = json.loads(result.stdout.strip().splitlines()[-1])["api_key"]
        with httpx.Client(base_url=suite.url("gateway"), headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            orgs = client.get("/v1/orgs")
            assert orgs.status_code == 200, orgs.text
            assert [org["code"] for org in orgs.json()["items"]] == [code]
            customers = client.get("/v1/customers")  # proxied to the customer service with an internal token
            assert customers.status_code == 200, customers.text
            assert customers.json()["items"] == []

    def test_a_service_port_refuses_calls_without_the_gateways_token(self, suite: ComposeOnThisMachine) -> None:
        assert httpx.get(suite.url("customer") + "/v1/customers", timeout=5).status_code == 401
