"""Every failure is one line on stderr and exit 1; the traceback only with --debug."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import run
from tests.cli.fake_server import FakeServer


def _import(url: str, file: Path, *extra: str) -> list[str]:
    return ["import", "customers", str(file), "--dealer", "DLR-1", "--url", url, "--key", "csk_test", *extra]


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_unreachable_gateway_is_one_line_without_traceback(closed_port: int, customers_csv: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    done = subprocess.run([sys.executable, "-m", "cli", *_import(url, customers_csv)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"cannot reach {url}" in _error_line(done.stderr)


def test_debug_shows_the_traceback(closed_port: int, customers_csv: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    done = subprocess.run([sys.executable, "-m", "cli", "--debug", *_import(url, customers_csv)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ConnectError" in done.stderr


@pytest.mark.parametrize(("status", "title", "detail", "hint"), [
    (401, "Unauthorized", "Unknown or revoked API key", "CSLOOP_API_KEY"),
    (403, "Forbidden", "The key lacks the scope customers:write", "scope"),
    (404, "Not found", "No organisation DLR-1", ""),
])
def test_http_errors_are_one_line_naming_status_title_and_detail(
        server: FakeServer, customers_csv: Path, status: int, title: str, detail: str, hint: str) -> None:
    server.answers(status, {"type": "about:blank", "title": title, "status": status, "detail": detail})
    result = run(*_import(server.url, customers_csv))
    assert result.exit_code == 1
    line = _error_line(result.stderr)
    assert line.startswith(f"error: {status} {title}: {detail}")
    assert hint in line
    assert "Traceback" not in result.output


def test_a_problems_errors_are_listed_briefly(server: FakeServer, customers_csv: Path) -> None:
    errors = [{"field": f"column{i}", "message": "unknown column"} for i in range(5)]
    server.answers(422, {"title": "Unprocessable content", "status": 422, "detail": "Unknown columns", "errors": errors})
    result = run(*_import(server.url, customers_csv))
    assert result.exit_code == 1
    assert _error_line(result.stderr) == ("error: 422 Unprocessable content: Unknown columns [column0: unknown column; "
                                          "column1: unknown column; column2: unknown column (+2 more)]")


def test_an_answer_that_is_not_a_problem_is_still_one_line(server: FakeServer, customers_csv: Path) -> None:
    server.answers(502, "<html>\n<body>\n<h1>502 Bad Gateway</h1>\n</body>\n</html>\n", "text/html")
    result = run(*_import(server.url, customers_csv))
    assert result.exit_code == 1
    assert _error_line(result.stderr).startswith("error: 502 Bad Gateway: <html> <body> <h1>502 Bad Gateway</h1>")


def test_a_refused_bootstrap_is_one_line(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    first = run("admin", "bootstrap", "--data-dir", data_dir, "--code", "OEM", "--name", "Maker")
    assert first.exit_code == 0, first.output
    again = run("admin", "bootstrap", "--data-dir", data_dir, "--code", "OEM", "--name", "Maker")
    assert again.exit_code == 1
    assert _error_line(again.stderr) == "error: The organisation 'OEM' exists already; bootstrap runs once"
    assert "Traceback" not in again.output
