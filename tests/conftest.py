"""Fixtures every test package may use: test databases and the running suite."""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.topology import COMPONENTS
from gateway.cli.up import Suite
from tests.support.databases import check_postgres_reachable, drop_postgres_databases, postgres_base_url
from tests.support.suite import Network, bootstrap_with_cli, free_port_base

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
    import asyncio

    data_dir = tmp_path_factory.mktemp("suite")
    base = postgres_base_url()
    database_base = None
    if base:
        database_base = base + "_e2e"
        asyncio.run(drop_postgres_databases(database_base, [c.name for c in COMPONENTS]))
    suite = Suite(data_dir=data_dir, port_base=free_port_base(), database_base=database_base)
    env = {k: v for k, v in os.environ.items() if k != "CSLOOP_DATABASE_URL"}
    if database_base:
        env["CSLOOP_DATABASE_URL"] = database_base
    credentials = bootstrap_with_cli(data_dir, "OEM", "Test manufacturer", env)
    suite.start()
    try:
        suite.wait_ready()
        gateway_url = f"http://127.0.0.1:{suite.port_base}"
        yield Network(suite, gateway_url, credentials["org_code"], credentials["api_key"])
    finally:
        suite.stop()
        for log in sorted((data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace")[-3000:]
            if "Traceback" in tail:
                print(f"\n--- {log.name} (tail) ---\n{tail}", file=sys.stderr)
