"""Finding 13: database files were created 0644 (personal data, key hashes and webhook
secrets readable by every local user). Files 0600, SQLite's -wal and -shm too, in a 0700
directory."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.identity.bootstrap import MIGRATIONS
from cli.up import private_data_dir
from shared.db import create_engine
from shared.migrations import upgrade


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what most systems give a process: files 0644 unless told otherwise
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_database_wal_and_shm_are_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "data" / "customer.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES ('13900000001')"))
        async with engine.connect() as connection:  # held open: the -wal and -shm files exist now
            await connection.execute(text("SELECT x FROM t"))
            files = [path, path.with_name("customer.db-wal"), path.with_name("customer.db-shm")]
            assert all(file.exists() for file in files)
            assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        await engine.dispose()
    assert mode(path.parent) == 0o700


async def test_migrating_a_new_database_creates_it_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "gateway.db"
    await upgrade(f"sqlite+aiosqlite:///{path}", MIGRATIONS)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


async def test_files_left_readable_by_an_earlier_run_are_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    for file in (path, tmp_path / "old.db-wal"):
        file.touch(mode=0o644)
        file.chmod(0o644)
    await create_engine(f"sqlite+aiosqlite:///{path}").dispose()
    assert mode(path) == 0o600 and mode(tmp_path / "old.db-wal") == 0o600


def test_the_suites_data_directory_is_0700_even_when_it_existed(tmp_path: Path) -> None:
    existing = tmp_path / "data"
    existing.mkdir(mode=0o755)
    private_data_dir(existing)
    assert mode(existing) == 0o700
    private_data_dir(tmp_path / "new" / "data")
    assert mode(tmp_path / "new" / "data") == 0o700
