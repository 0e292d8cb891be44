"""`csloop kpi rebuild` finds the KPI service from the port base and never makes a secret."""

from pathlib import Path

from tests.cli.conftest import run
from tests.cli.fake_server import fake_server

KPI_OFFSET = 4  # cli/topology.py: the KPI service listens at the port base + 4


def _suite_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / ".internal-secret").write_text("s" * 64)
    return data_dir


def test_the_kpi_service_is_found_at_the_port_base_plus_four(tmp_path: Path) -> None:
    with fake_server() as kpi:
        kpi.answers(200, {"rebuilt": {"deliveries": 3}})
        result = run("kpi", "rebuild", "--data-dir", str(_suite_dir(tmp_path)), "--port-base", str(kpi.port - KPI_OFFSET))
    assert result.exit_code == 0, result.output
    [request] = kpi.received
    assert request.path == "/internal/kpi/rebuild"


def test_the_port_base_may_come_from_the_environment(tmp_path: Path) -> None:
    with fake_server() as kpi:
        kpi.answers(200, {"rebuilt": {}})
        result = run("kpi", "rebuild", "--data-dir", str(_suite_dir(tmp_path)),
                     CSLOOP_PORT_BASE=str(kpi.port - KPI_OFFSET))
    assert result.exit_code == 0, result.output
    assert len(kpi.received) == 1


def test_a_wrong_folder_is_a_one_line_error_and_no_secret_is_written(tmp_path: Path) -> None:
    wrong = tmp_path / "not-the-data-dir"
    wrong.mkdir()
    result = run("kpi", "rebuild", "--data-dir", str(wrong))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no internal secret at {wrong / '.internal-secret'} (nor CSLOOP_INTERNAL_SECRET): "
        "give the --data-dir the suite was started with"]
    assert list(wrong.iterdir()) == []
    missing = tmp_path / "absent"
    assert run("kpi", "rebuild", "--data-dir", str(missing)).exit_code == 1
    assert not missing.exists()


def test_a_secret_the_suite_does_not_share_is_one_line(tmp_path: Path) -> None:
    with fake_server() as kpi:
        kpi.answers(401, {"title": "Unauthorized", "status": 401, "detail": "Bad internal token"})
        base = kpi.port - KPI_OFFSET
        result = run("kpi", "rebuild", "--data-dir", str(_suite_dir(tmp_path)), "--port-base", str(base))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: the KPI service at {kpi.url} refused a token") and f"port base {base}" in line


def test_another_error_answer_is_one_line(tmp_path: Path) -> None:
    with fake_server() as kpi:
        kpi.answers(503, {"title": "Service unavailable", "status": 503, "detail": "customer did not answer"})
        result = run("kpi", "rebuild", "--data-dir", str(_suite_dir(tmp_path)), "--port-base", str(kpi.port - KPI_OFFSET))
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: 503 Service unavailable: customer did not answer"
