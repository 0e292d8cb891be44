"""A process told to stop drains first (shared.serve.DrainingServer): for CSLOOP_DRAIN_SECONDS its
/readyz answers 503 while every other request is served as before, then it shuts down gracefully
and exits 0. Run as a real process (the KPI service on SQLite), signalled as Kubernetes signals it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.support.suite import free_port_base

SECRET = "draining-test-secret-of-32-bytes-or-more"
START_TIMEOUT_SECONDS = 60.0


class Process:
    def __init__(self, directory: Path, drain_seconds: float) -> None:
        self.port = free_port_base(1)
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSLOOP_")} | {
            "CSLOOP_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'kpi.db'}",
            "CSLOOP_INTERNAL_SECRET": SECRET,
            "CSLOOP_DRAIN_SECONDS": str(drain_seconds),
            "CSLOOP_LOG_LEVEL": "WARNING",
        }
        self.log = directory / "kpi.log"
        with open(self.log, "wb") as log:
            self.popen = subprocess.Popen([sys.executable, "-m", "services.kpi", "--port", str(self.port), "--migrate"],
                                          env=env, cwd=directory, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"not ready after {START_TIMEOUT_SECONDS} s: {self.log.read_text()}")

    def get(self, path: str) -> httpx.Response:
        """A request on a new connection, as a client that was just routed here would make it."""
        token = mint_internal_token(system_principal(), SECRET)
        return httpx.get(self.url + path, headers={INTERNAL_HEADER: token}, timeout=5)

    def signal(self, sig: signal.Signals = signal.SIGTERM) -> None:
        self.popen.send_signal(sig)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    started: list[Process] = []

    def start(drain_seconds: float) -> Process:
        started.append(Process(tmp_path, drain_seconds))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def test_after_sigterm_it_is_not_ready_but_serves_until_the_drain_ends_then_exits_0(start) -> None:
    drain_seconds = 3.0
    kpi = start(drain_seconds)
    assert kpi.get("/v1/evaluation-schemes").status_code == 200

    signalled = time.monotonic()
    kpi.signal(signal.SIGTERM)
    readiness = kpi.get("/readyz")
    assert (readiness.status_code, readiness.json()) == (503, {"status": "draining"})
    assert kpi.get("/livez").status_code == 200  # alive: Kubernetes must not restart it meanwhile
    served = kpi.get("/v1/evaluation-schemes")  # a request a balancer still routes here is served
    assert served.status_code == 200, served.text
    assert served.json() == {"items": []}
    assert time.monotonic() - signalled < drain_seconds, "the checks above ran after the drain: lengthen it"

    assert kpi.popen.wait(timeout=drain_seconds + 15) == 0, kpi.log.read_text()
    assert time.monotonic() - signalled >= drain_seconds  # it drained the whole period, not less
    with pytest.raises(httpx.ConnectError):
        kpi.get("/livez")


def test_a_second_signal_cuts_the_drain_short(start) -> None:
    kpi = start(drain_seconds=60.0)
    kpi.signal(signal.SIGTERM)
    assert kpi.get("/readyz").status_code == 503
    kpi.signal(signal.SIGINT)  # Ctrl-C again in `csloop up`, or an impatient operator
    assert kpi.popen.wait(timeout=15) == 0, kpi.log.read_text()


def test_without_a_drain_period_it_stops_at_once_and_is_ready_until_then(start) -> None:
    kpi = start(drain_seconds=0)
    assert kpi.get("/readyz").json() == {"status": "ok"}
    signalled = time.monotonic()
    kpi.signal(signal.SIGTERM)
    assert kpi.popen.wait(timeout=15) == 0, kpi.log.read_text()
    assert time.monotonic() - signalled < 5
