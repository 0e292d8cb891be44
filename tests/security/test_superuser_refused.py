"""Finding 18: connected as the PostgreSQL superuser (the README's example), every service ran
with row-level security silently off. A process now refuses to start as a superuser or a
BYPASSRLS role unless started with `--allow-superuser`; the plain role starts."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from cli.up import Suite
from cli.topology import built_components
from shared.db import SuperuserRefused, refuse_superuser
from tests.support.databases import app_role_url, drop_postgres_databases, postgres_base_url
from tests.support.suite import free_port_base

postgres = pytest.mark.skipif(not postgres_base_url(), reason="row-level security is PostgreSQL's; "
                              "set CSLOOP_TEST_DATABASE_URL (a superuser URL, as in CI)")


def superuser_url() -> str:
    return f"{postgres_base_url()}_superuser_refused"


@postgres
async def test_the_role_check_refuses_a_superuser_and_accepts_the_plain_role() -> None:
    with pytest.raises(SuperuserRefused, match="--allow-superuser"):
        await refuse_superuser(superuser_url())
    await refuse_superuser(await asyncio.to_thread(app_role_url, superuser_url()))  # creates the role if missing


async def test_sqlite_has_no_roles_to_refuse(tmp_path: Path) -> None:
    await refuse_superuser(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")


def test_csloop_up_passes_the_flag_only_when_asked(tmp_path: Path) -> None:
    suite = Suite(tmp_path, free_port_base(), components=[built_components()[0]])
    assert "--allow-superuser" not in _argv(suite)
    suite = Suite(tmp_path, free_port_base(), components=[built_components()[0]], allow_superuser=True)
    assert "--allow-superuser" in _argv(suite)


def _argv(suite: Suite) -> list[str]:
    started: list[list[str]] = []

    class Recorder:
        def __init__(self, argv: list[str], **_kwargs: object) -> None:
            started.append(argv)

    real = subprocess.Popen
    subprocess.Popen = Recorder  # type: ignore[misc,assignment] - record the command, start nothing
    try:
        suite.start()
    finally:
        subprocess.Popen = real  # type: ignore[misc]
    return started[0]


def _start_gateway(url: str, port: int, *flags: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSLOOP_")}
    env.update({"CSLOOP_DATABASE_URL": url, "CSLOOP_LOG_LEVEL": "WARNING"})
    return subprocess.Popen([sys.executable, "-m", "gateway", "--port", str(port), "--migrate", *flags], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@postgres
async def test_a_process_started_as_a_superuser_exits_unless_allowed() -> None:
    database = make_url(superuser_url()).database
    await drop_postgres_databases(postgres_base_url(), [database.removeprefix(make_url(postgres_base_url()).database + "_")])
    refused = _start_gateway(superuser_url(), free_port_base(1))
    output, _ = refused.communicate(timeout=60)
    assert refused.returncode != 0
    assert b"SuperuserRefused" in output and b"row-level security" in output
    port = free_port_base(1)
    allowed = _start_gateway(superuser_url(), port, "--allow-superuser")
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert allowed.poll() is None, allowed.communicate()[0][-2000:]
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the allowed superuser process never became ready")
    finally:
        allowed.terminate()
        allowed.wait(timeout=15)
