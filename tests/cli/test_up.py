"""`csloop up` refuses a port already taken, naming it; `make run PORT_BASE=...` reaches it."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.suite import free_port_base

REPOSITORY = Path(__file__).resolve().parents[2]


def test_a_busy_port_is_refused_naming_the_port_and_the_component(tmp_path: Path) -> None:
    base = free_port_base()
    env = {k: v for k, v in os.environ.items() if k not in {"CSLOOP_DATABASE_URL", "CSLOOP_PORT_BASE"}}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 2))
        taken.listen()
        done = subprocess.run([sys.executable, "-m", "cli", "up", "--data-dir", str(tmp_path / "data"),
                               "--port-base", str(base)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: port {base + 2} (survey) is already in use: stop what listens there or choose another "
        "--port-base (make run PORT_BASE=...)"]
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_make_run_passes_the_port_base_through() -> None:
    done = subprocess.run(["make", "-n", "run", "PORT_BASE=9000"], cwd=REPOSITORY, capture_output=True, text=True,
                          timeout=60, check=True)
    assert ".venv/bin/csloop up --port-base 9000" in done.stdout
    default = subprocess.run(["make", "-n", "run"], cwd=REPOSITORY, capture_output=True, text=True, timeout=60, check=True)
    assert ".venv/bin/csloop up --port-base 8000" in default.stdout


def test_the_gateway_alone_gets_a_webhook_key_of_its_data_dir(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from cryptography.fernet import Fernet

    from cli.up import Suite
    from gateway.integrations.webhooks.sealing import DEVELOPMENT_KEY

    monkeypatch.delenv("CSLOOP_WEBHOOKS_SECRET_KEYS", raising=False)
    tmp_path.chmod(0o700)
    suite = Suite(data_dir=tmp_path, port_base=free_port_base())
    gateway, *services = suite.components
    key = suite.environment(gateway)["CSLOOP_WEBHOOKS_SECRET_KEYS"]
    Fernet(key)  # a real key ...
    assert key != DEVELOPMENT_KEY  # ... not the one every checkout knows
    assert (tmp_path / ".webhook-secret-key").stat().st_mode & 0o777 == 0o600
    assert Suite(data_dir=tmp_path, port_base=suite.port_base).environment(gateway)["CSLOOP_WEBHOOKS_SECRET_KEYS"] == key
    assert all("CSLOOP_WEBHOOKS_SECRET_KEYS" not in suite.environment(service) for service in services)


def test_the_gateway_alone_gets_an_integrity_secret_of_its_data_dir(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from cli.up import Suite
    from gateway.settings import DEVELOPMENT_INTEGRITY_SECRET

    monkeypatch.delenv("CSLOOP_INTEGRITY_SECRET", raising=False)
    tmp_path.chmod(0o700)
    suite = Suite(data_dir=tmp_path, port_base=free_port_base())
    gateway, *services = suite.components
    secret = suite.environment(gateway)["CSLOOP_INTEGRITY_SECRET"]
    assert len(secret) >= 48 and secret != DEVELOPMENT_INTEGRITY_SECRET
    assert (tmp_path / ".integrity-secret").stat().st_mode & 0o777 == 0o600
    assert Suite(data_dir=tmp_path, port_base=suite.port_base).environment(gateway)["CSLOOP_INTEGRITY_SECRET"] == secret
    assert all("CSLOOP_INTEGRITY_SECRET" not in suite.environment(service) for service in services)


def test_replicas_above_one_need_postgresql_and_nats_and_are_refused_before_anything_is_made(tmp_path: Path) -> None:
    base = free_port_base(20)
    env = {k: v for k, v in os.environ.items() if k not in {"CSLOOP_DATABASE_URL", "CSLOOP_EVENT_TRANSPORT"}}

    def up(*extra: str, **more_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", "up", "--data-dir", str(tmp_path / "data"), "--port-base",
                               str(base), *extra], capture_output=True, text=True, env=env | more_env, timeout=60)

    on_sqlite = up("--replicas", "2")
    assert on_sqlite.returncode == 1
    assert "--replicas above 1 needs PostgreSQL: set CSLOOP_DATABASE_URL" in on_sqlite.stderr
    over_http = up("--replicas", "2", CSLOOP_DATABASE_URL="postgresql+asyncpg://csloop@127.0.0.1:1/csloop")
    assert "--replicas above 1 needs NATS JetStream: set CSLOOP_EVENT_TRANSPORT=nats" in over_http.stderr
    assert up("--replicas", "0").returncode == 2  # below the option's minimum: a usage error
    assert not (tmp_path / "data").exists()


def test_replica_r_listens_at_the_port_base_plus_ten_r_and_every_url_setting_names_all_replicas(tmp_path: Path) -> None:
    from cli.up import Suite

    tmp_path.chmod(0o700)
    suite = Suite(data_dir=tmp_path, port_base=9000, replicas=2)
    assert [(i.name, suite.url(i)) for i in suite.instances()] == [
        ("gateway", "http://127.0.0.1:9000"), ("customer", "http://127.0.0.1:9001"), ("survey", "http://127.0.0.1:9002"),
        ("complaint", "http://127.0.0.1:9003"), ("kpi", "http://127.0.0.1:9004"),
        ("gateway-1", "http://127.0.0.1:9010"), ("customer-1", "http://127.0.0.1:9011"),
        ("survey-1", "http://127.0.0.1:9012"), ("complaint-1", "http://127.0.0.1:9013"), ("kpi-1", "http://127.0.0.1:9014")]
    survey = next(c for c in suite.components if c.name == "survey")
    env = suite.environment(survey, replica=1)
    assert env["CSLOOP_PUBLIC_URL"] == "http://127.0.0.1:9012"
    assert env["CSLOOP_CUSTOMER_URL"] == "http://127.0.0.1:9001,http://127.0.0.1:9011"
    assert env["CSLOOP_GATEWAY_URL"] == "http://127.0.0.1:9000,http://127.0.0.1:9010"
