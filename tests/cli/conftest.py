"""What the CLI tests share: the app under typer's test runner, a clean environment, a file to import."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.cli.fake_server import FakeServer, fake_server

# The variables the command reads; a test sets the ones it is about, the rest are removed.
CLI_ENV = ("CSLOOP_URL", "CSLOOP_API_KEY", "CSLOOP_DEBUG", "CSLOOP_PORT_BASE", "CSLOOP_INTERNAL_SECRET",
           "CSLOOP_DATABASE_URL")


def run(*args: str, **env: str):  # noqa: ANN201 - typer's Result
    environment: dict[str, str | None] = {name: None for name in CLI_ENV}
    environment.update(env)
    return CliRunner().invoke(app, list(args), env=environment)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with fake_server() as running:
        yield running


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def customers_csv(tmp_path: Path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_text("external_id,name\nC-1,张伟\n", encoding="utf-8")
    return path
