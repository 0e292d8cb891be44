"""Exit codes, --version, and the environment variables the options default to."""

import json
from importlib.metadata import version
from pathlib import Path

from tests.cli.conftest import run
from tests.cli.fake_server import FakeServer

COUNTS = {"created": 1, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}


def test_version_comes_from_the_installed_distribution() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"csloop {version('csloop')}"


def test_help_documents_the_exit_codes() -> None:
    text = " ".join(run("--help").stdout.split())
    for meaning in ("0 done", "1 error", "2 usage error", "3 an import finished but some rows failed"):
        assert meaning in text


def test_success_is_0(server: FakeServer, customers_csv: Path) -> None:
    server.answers(200, COUNTS)
    result = run("import", "customers", str(customers_csv), "--dealer", "D", "--url", server.url, "--key", "k")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1]) == {"created": 1, "updated": 0, "failed": 0}


def test_a_usage_error_is_2_and_sends_nothing(server: FakeServer, customers_csv: Path) -> None:
    result = run("import", "customers", str(customers_csv), "--url", server.url, "--key", "k")  # no --dealer
    assert result.exit_code == 2
    assert "--dealer" in result.output
    assert server.received == []


def test_some_rows_failed_is_3(server: FakeServer, customers_csv: Path) -> None:
    server.answers(200, {**COUNTS, "created": 0, "failed": 1,
                         "errors": [{"row": 1, "field": "phone", "message": "not a phone number"}]})
    result = run("import", "customers", str(customers_csv), "--dealer", "D", "--url", server.url, "--key", "k")
    assert result.exit_code == 3


def test_url_and_key_default_to_the_environment(server: FakeServer, customers_csv: Path) -> None:
    server.answers(200, COUNTS)
    result = run("import", "customers", str(customers_csv), "--dealer", "D",
                 CSLOOP_URL=server.url, CSLOOP_API_KEY="csk_from_env")
    assert result.exit_code == 0, result.output
    [request] = server.received
    assert request.headers["authorization"] == "Bearer csk_from_env"
    assert request.path == "/v1/customers/import?dealer_code=D"


def test_the_options_win_over_the_environment(server: FakeServer, customers_csv: Path, closed_port: int) -> None:
    server.answers(200, COUNTS)
    result = run("import", "customers", str(customers_csv), "--dealer", "D", "--url", server.url, "--key", "csk_option",
                 CSLOOP_URL=f"http://127.0.0.1:{closed_port}", CSLOOP_API_KEY="csk_from_env")
    assert result.exit_code == 0, result.output
    assert server.received[0].headers["authorization"] == "Bearer csk_option"
