"""The whole suite as real processes (`csloop up` machinery) for end-to-end tests through the gateway."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli.up import Suite

ALL_SCOPES = ["customers:read", "customers:write", "surveys:read", "surveys:write", "complaints:read",
              "complaints:write", "kpi:read", "kpi:write", "orgs:admin", "pii:read", "webhooks:admin"]


# Below the kernel's ephemeral range: a port free there when probed can be taken a moment later by
# any outgoing connection (a relay's POST, a pooled database connection) before the suite binds it,
# which made a service exit with "address already in use" now and then.
FIRST_PORT = 20_000


def free_port_base(span: int = 5) -> int:
    """A port N such that N..N+span-1 are free now, outside the range outgoing connections take."""
    for _ in range(50):
        base = random.randrange(FIRST_PORT, _first_ephemeral_port() - span)
        if all(_free(base + offset) for offset in range(span)):
            return base
    raise RuntimeError("no free port range")


def _first_ephemeral_port() -> int:
    ports = Path("/proc/sys/net/ipv4/ip_local_port_range")
    return int(ports.read_text().split()[0]) if ports.exists() else 32_768  # Linux's default elsewhere


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def bootstrap_with_cli(data_dir: Path, code: str, name: str, env: dict[str, str]) -> dict:
    """Run `csloop admin bootstrap` exactly as an operator would; returns its JSON line."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", "admin", "bootstrap", "--data-dir", str(data_dir), "--code", code, "--name", name],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# The survey integrity flags (issue 17), each switched on or off by `PUT /v1/survey-integrity/rules`.
INTEGRITY_FLAGS = ("speeder", "straight_line", "shared_device", "dealer_network", "duplicate_text", "dealer_spike")


@dataclass
class Org:
    code: str
    key: str
    client: httpx.Client


class Network:
    """Builds organisations and keys through the real gateway, with unique codes per test."""

    def __init__(self, suite: Suite, gateway_url: str, manufacturer_code: str, manufacturer_key: str) -> None:
        self.suite = suite
        self.url = gateway_url
        self.manufacturer = Org(manufacturer_code, manufacturer_key, self.client(manufacturer_key))

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def org(self, kind: str, parent: Org | None = None, scopes: list[str] | None = None) -> Org:
        parent = parent or self.manufacturer
        code = f"{kind[:3].upper()}-{uuid.uuid4().hex[:8].upper()}"
        created = parent.client.post("/v1/orgs", json={"code": code, "name": f"Test {kind} {code}", "kind": kind,
                                                        "parent_code": parent.code, "region": "Test"})
        assert created.status_code == 201, created.text
        return self.key_for(code, scopes)

    def key_for(self, code: str, scopes: list[str] | None = None) -> Org:
        issued = self.manufacturer.client.post("/v1/api-keys", json={"org_code": code, "name": "test", "scopes": scopes or ALL_SCOPES})
        assert issued.status_code == 201, issued.text
        key = issued.json()["key"]
        return Org(code, key, self.client(key))


async def delete_nats_stream(name: str, url: str = "nats://127.0.0.1:4222") -> None:
    import nats

    connection = await nats.connect(url)
    try:
        await connection.jetstream().delete_stream(name)
    finally:
        await connection.close()


def stop_component(suite: Suite, name: str) -> None:
    """Stop one process of the running suite (SIGTERM, as `csloop up` stops it); the others run on."""
    process = suite.processes[name]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def start_component(suite: Suite, name: str, timeout: float = 90.0) -> None:
    """Start a stopped process again with the command and environment it had; returns once it is ready."""
    instance = suite.instance(name)
    suite.start_instance(instance)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            try:
                if client.get(suite.url(instance) + "/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if suite.processes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back; see {suite.data_dir / 'logs' / name}.log")
            time.sleep(0.2)


def freeze_component(suite: Suite, name: str) -> None:
    """SIGSTOP: the process hangs. Its port still accepts connections (the kernel does), nothing answers."""
    os.kill(suite.processes[name].pid, signal.SIGSTOP)


def thaw_component(suite: Suite, name: str) -> None:
    os.kill(suite.processes[name].pid, signal.SIGCONT)
