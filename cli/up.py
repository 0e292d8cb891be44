"""`csloop up`: start the gateway and every built service, wait until each is ready, stop them together."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cli.errors import CommandFailed
from cli.topology import (Component, Instance, built_components, database_url, integrity_secret, internal_secret,
                          port_of, subscriptions, url_of, urls_of, webhook_secret_keys)
from shared.db import PRIVATE_DIRECTORY, private_directory

READY_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class Suite:
    data_dir: Path
    port_base: int
    database_base: str | None = None  # a PostgreSQL URL; None: CSLOOP_DATABASE_URL or SQLite
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. the event transport, for every process
    # Webhooks to loopback and private addresses (receivers on this machine): off unless asked,
    # since it also opens the services' own ports and 169.254.169.254 to webhook targets.
    allow_private_webhooks: bool = False
    # PostgreSQL as a superuser or BYPASSRLS role: refused unless asked (row-level security off).
    allow_superuser: bool = False
    # Processes per component (issue 19): more than one needs PostgreSQL and NATS (`refuse_replicas_without`).
    replicas: int = 1
    components: list[Component] = field(default_factory=built_components)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # by instance name

    def instances(self) -> list[Instance]:
        """Every process, the first replicas of all components before any second one."""
        return [Instance(c, r) for r in range(self.replicas) for c in self.components]

    def instance(self, name: str) -> Instance:
        return next(i for i in self.instances() if i.name == name)

    def url(self, instance: Instance) -> str:
        return url_of(instance.component, self.port_base, replica=instance.replica)

    def environment(self, component: Component, replica: int = 0) -> dict[str, str]:
        env = dict(os.environ)
        gateway = self.components[0]
        env.update({
            "CSLOOP_DATABASE_URL": self.database_url(component),
            "CSLOOP_INTERNAL_SECRET": internal_secret(self.data_dir),
            "CSLOOP_GATEWAY_URL": urls_of(gateway, self.port_base, self.replicas),
            "CSLOOP_PUBLIC_URL": url_of(component, self.port_base, replica=replica),
            "CSLOOP_EVENT_SUBSCRIPTIONS": json.dumps(subscriptions(self.components, self.port_base)),
        })
        for other in self.components[1:]:
            env[f"CSLOOP_{other.name.upper()}_URL"] = urls_of(other, self.port_base, self.replicas)
        if component.name == "gateway":  # the only process that holds webhook secrets
            env["CSLOOP_WEBHOOKS_SECRET_KEYS"] = webhook_secret_keys(self.data_dir)
            env["CSLOOP_INTEGRITY_SECRET"] = integrity_secret(self.data_dir)
        if self.allow_private_webhooks:
            env["CSLOOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
        env.update(self.extra_env)
        return env

    def database_url(self, component: Component) -> str:
        return database_url(component, self.data_dir, self.database_base)

    def refuse_replicas_without_shared_state(self) -> None:
        """Replicas share their database and the event stream: SQLite files and the HTTP event
        transport (one subscriber URL per service) are for one process each."""
        if self.replicas < 1:
            raise CommandFailed("--replicas must be 1 or more")
        if self.replicas == 1:
            return
        if self.database_url(self.components[0]).startswith("sqlite"):
            raise CommandFailed("--replicas above 1 needs PostgreSQL: set CSLOOP_DATABASE_URL")
        transport = self.extra_env.get("CSLOOP_EVENT_TRANSPORT", os.environ.get("CSLOOP_EVENT_TRANSPORT", "http"))
        if transport != "nats":
            raise CommandFailed("--replicas above 1 needs NATS JetStream: set CSLOOP_EVENT_TRANSPORT=nats")

    def refuse_busy_ports(self) -> None:
        """Before anything is created: a port already taken would otherwise surface as one process
        dying during start, with the reason buried in its log."""
        for instance in self.instances():
            port = port_of(instance.component, self.port_base, instance.replica)
            if not port_free(port):
                raise CommandFailed(f"port {port} ({instance.name}) is already in use: stop what listens there "
                                    f"or choose another --port-base (make run PORT_BASE=...)")

    def start(self) -> None:
        """The first replica of every component migrates its database and becomes ready before
        any other replica starts, so no two processes migrate one database at once."""
        private_data_dir(self.data_dir)
        (self.data_dir / "logs").mkdir(mode=0o700, exist_ok=True)
        first, others = self.instances()[:len(self.components)], self.instances()[len(self.components):]
        for instance in first:
            self.start_instance(instance)
        if others:
            self.wait_ready(names=[i.name for i in first])
            for instance in others:
                self.start_instance(instance)

    def start_instance(self, instance: Instance) -> None:
        """Start (or start again) one process, with the command and environment `start` gives it."""
        port = port_of(instance.component, self.port_base, instance.replica)
        log = open(self.data_dir / "logs" / f"{instance.name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[instance.name] = subprocess.Popen(
            [sys.executable, "-m", instance.component.module, "--port", str(port), "--migrate",
             *(["--allow-superuser"] if self.allow_superuser else [])],
            env=self.environment(instance.component, instance.replica), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS, names: list[str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        pending = {i.name: self.url(i) + "/readyz" for i in self.instances() if names is None or i.name in names}
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name, url in list(pending.items()):
                    if self.processes[name].poll() is not None:
                        raise CommandFailed(f"{name} exited during start; see {self.data_dir / 'logs' / name}.log")
                    try:
                        if client.get(url).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise CommandFailed(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
                time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def first_exited(self) -> str | None:
        return next((name for name, p in self.processes.items() if p.poll() is not None), None)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a service could listen on `port` now (the services listen on 127.0.0.1)."""
    with socket.socket() as probe:
        # As uvicorn binds: connections of a stopped suite still in TIME_WAIT do not count as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def private_data_dir(data_dir: Path) -> None:
    """The suite's own directory (databases, secrets, logs): this user's only, even if it existed."""
    private_directory(data_dir)
    data_dir.chmod(PRIVATE_DIRECTORY)


def run_until_signalled(suite: Suite) -> int:
    """Block until Ctrl-C, SIGTERM, or a child dies; then stop every child."""
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exited = None
    while not stopping and exited is None:
        time.sleep(0.3)
        exited = suite.first_exited()
    suite.stop()
    if exited:
        print(f"{exited} stopped unexpectedly; see {suite.data_dir / 'logs' / exited}.log", file=sys.stderr)
        return 1
    return 0
