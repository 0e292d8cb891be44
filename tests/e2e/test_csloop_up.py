"""`csloop up` in a temporary directory: every process answers /readyz, then all stop cleanly."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.topology import COMPONENTS, built_components
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url
from tests.support.suite import free_port_base

pytestmark = pytest.mark.e2e


def test_csloop_up_starts_every_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    port_base = free_port_base()
    env = {k: v for k, v in os.environ.items() if k != "CSLOOP_DATABASE_URL"}
    if base := postgres_base_url():
        asyncio.run(drop_postgres_databases(base + "_up", [c.name for c in COMPONENTS]))
        # As the README says: the plain role, so row-level security binds (a superuser is refused).
        env["CSLOOP_DATABASE_URL"] = app_role_url(base + "_up")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--data-dir", str(tmp_path), "--port-base", str(port_base)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    ports = [port_base + c.offset for c in built_components()]
    try:
        _wait_until_ready(ports, process)
        _wait_for_demo_seed(tmp_path, process)
        demo = httpx.get(f"http://127.0.0.1:{port_base}/v1/orgs", timeout=5,
                         headers={"Authorization": f"Bearer {_demo_key(tmp_path)}"})
        assert demo.status_code == 200
        assert len(demo.json()["items"]) >= 9  # 1 manufacturer, 2 distributors, 6 dealers
        # A finished care campaign whose sent group came back more than its holdout (cli/demo_campaigns.py).
        headers = {"Authorization": f"Bearer {_demo_key(tmp_path)}"}
        [campaign] = httpx.get(f"http://127.0.0.1:{port_base}/v1/campaigns", params={"status": "launched"},
                               headers=headers, timeout=5).json()["items"]
        results = httpx.get(f"http://127.0.0.1:{port_base}/v1/campaigns/{campaign['id']}/results", headers=headers,
                            timeout=5).json()
        assert results["window_closed"] and results["sent"] > results["holdout"] > 0, results
        assert results["uplift_pts"] > 10, results
        # Every customer ranked by the demo's daily run (cli/demo_standing.py): the value segments have members.
        retention = httpx.get(f"http://127.0.0.1:{port_base}/v1/retention", headers=headers, timeout=5).json()
        assert sum(retention["segments"].values()) > retention["unscored"], retention
        # Customers slipping away (cli/demo.py SLIPPING_MONTHS_AGO): two at risk and one lapsed per dealer.
        assert retention["lifecycle"]["at_risk"] >= 12 and retention["lifecycle"]["lapsed"] >= 6, retention
        # Three brake complaints at two North dealers raised a signal, which D-NORTH's bulletin answers.
        signals = httpx.get(f"http://127.0.0.1:{port_base}/v1/quality-signals", headers=headers, timeout=5).json()["items"]
        assert [(s["vehicle_model"], s["symptom_code"], s["case_count"]) for s in signals] == [("Camry", "BRK-01", 3)]
        asked = httpx.get(f"http://127.0.0.1:{port_base}/v1/tech-requests", params={"dealer_code": "DLR-0041"},
                          timeout=5, headers={"Authorization": f"Bearer {_demo_key(tmp_path)}"}).json()["items"]
        assert sorted(r["status"] for r in asked) == ["answered", "open"]
        # A recall with progress, completed by visits whose events reach the complaint service (cli/demo_recalls.py).
        deadline = time.monotonic() + 60
        while True:
            progress = httpx.get(f"http://127.0.0.1:{port_base}/v1/recalls/RC-DEMO-01/progress", headers=headers,
                                 timeout=5).json()
            if (progress["affected"], progress["completed"]) == (11, 6) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert (progress["affected"], progress["completed"]) == (11, 6), progress
        assert {item["dealer_code"]: item["completed"] for item in progress["items"]} == {
            "DLR-0041": 3, "DLR-0042": 1, "DLR-0051": 2}, progress
        [bulletin] = httpx.get(f"http://127.0.0.1:{port_base}/v1/bulletins", headers=headers, timeout=5).json()["items"]
        acks = httpx.get(f"http://127.0.0.1:{port_base}/v1/bulletins/{bulletin['id']}/acks", headers=headers,
                         timeout=5).json()
        assert [a["dealer_code"] for a in acks["acknowledged"]] == ["DLR-0041"], acks
        assert acks["unacknowledged"] == ["DLR-0042", "DLR-0043"], acks
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode(errors="replace")
    assert process.returncode == 0, output
    for port in ports:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2)


def _wait_until_ready(ports: list[int], process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ports)
    while pending:
        assert process.poll() is None, process.communicate()[0].decode(errors="replace")
        for port in list(pending):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    pending.discard(port)
            except httpx.HTTPError:
                pass
        assert time.monotonic() < deadline, f"ports not ready: {pending}"
        time.sleep(0.3)


def _wait_for_demo_seed(data_dir: Path, process: subprocess.Popen, timeout: float = 480) -> None:
    """/readyz answers before the seed is done; demo.json says `seeded` once it is."""
    deadline = time.monotonic() + timeout
    while not json.loads((data_dir / "demo.json").read_text()).get("seeded"):
        assert process.poll() is None, process.communicate()[0].decode(errors="replace")
        assert time.monotonic() < deadline, "the demo network was not seeded in time"
        time.sleep(0.3)


def _demo_key(data_dir: Path) -> str:
    return json.loads((data_dir / "demo.json").read_text())["api_key"]
