"""Fixtures every test package may use: test databases and the running suite."""

import asyncio
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli.topology import COMPONENTS, REPLICA_PORT_STEP
from cli.up import Suite
from tests.support.databases import app_role_url, check_postgres_reachable, drop_postgres_databases, postgres_base_url
from tests.support.suite import INTEGRITY_FLAGS, Network, bootstrap_with_cli, delete_nats_stream, free_port_base

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Every app and suite process of a test run shares one PostgreSQL server of 100 connections (CI's):
# the session-long suites, the replicated one and every service's in-process apps, each keeping
# its pool's idle connections. Three kept per process; bursts still open up to ten more.
os.environ.setdefault("CSLOOP_DATABASE_POOL_SIZE", "3")


def pytest_sessionstart(session: pytest.Session) -> None:
    if base := postgres_base_url():
        check_postgres_reachable(base)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The built services and the gateway as real processes, with a bootstrapped manufacturer."""
    with running_network(tmp_path_factory.mktemp("suite"), "e2e") as network:
        yield network


@pytest.fixture(scope="session")
def nats_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The same suite with NATS JetStream carrying the events (a stream of its own per run)."""
    run = uuid.uuid4().hex[:10]
    transport = {"CSLOOP_EVENT_TRANSPORT": "nats", "CSLOOP_NATS_STREAM": f"E2E_{run}",
                 "CSLOOP_NATS_SUBJECT_PREFIX": f"e2e.{run}"}
    with running_network(tmp_path_factory.mktemp("nats-suite"), "e2e_nats", transport) as network:
        yield network
    asyncio.run(delete_nats_stream(f"E2E_{run}"))


@contextmanager
def running_network(data_dir: Path, database_suffix: str, extra_env: dict[str, str] | None = None,
                    replicas: int = 1) -> Iterator[Network]:
    database_base = None
    if base := postgres_base_url():
        asyncio.run(drop_postgres_databases(f"{base}_{database_suffix}", [c.name for c in COMPONENTS]))
        # The processes connect as a plain role, so the row-level security of shared/rls.py binds them.
        database_base = app_role_url(f"{base}_{database_suffix}")
    # The webhook tests' receivers listen on 127.0.0.1 at ports chosen later: asked for explicitly.
    suite = Suite(data_dir=data_dir, port_base=free_port_base(span=REPLICA_PORT_STEP * replicas), database_base=database_base,
                  extra_env=extra_env or {}, allow_private_webhooks=True, replicas=replicas)
    env = {k: v for k, v in os.environ.items() if k != "CSLOOP_DATABASE_URL"}
    if database_base:
        env["CSLOOP_DATABASE_URL"] = database_base
    credentials = bootstrap_with_cli(data_dir, "OEM", "Test manufacturer", env)
    suite.start()
    try:
        suite.wait_ready()
        gateway_url = f"http://127.0.0.1:{suite.port_base}"
        network = Network(suite, gateway_url, credentials["org_code"], credentials["api_key"])
        # Scripted traffic answers every survey from one address and browser, at machine speed: its
        # world switches the integrity flags off through the API (issue 17); a test of the flags
        # switches them on for its own distributor (the nearest rules win).
        rules = network.manufacturer.client.put("/v1/survey-integrity/rules", json={
            "org_code": network.manufacturer.code, "flags": {flag: {"on": False} for flag in INTEGRITY_FLAGS}})
        assert rules.status_code == 200, rules.text
        yield network
    finally:
        suite.stop()
        for log in sorted((data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace")[-3000:]
            if "Traceback" in tail:
                print(f"\n--- {log.name} (tail) ---\n{tail}", file=sys.stderr)
