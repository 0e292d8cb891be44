"""A served process migrates in a child process (shared.migration_process) and keeps Alembic, Mako
and, on the HTTP event transport, nats-py and its aiohttp out of its own memory (issue 12 item 7)."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import services.kpi
from shared.migration_process import MigrationFailed, upgrade

# Builds the KPI service as shared.serve does (migrating in a child), runs its start, and says which
# tables its database has and which of the heavy modules the serving process imported.
SERVED_START = """
import asyncio, json, sys
from services.kpi.app import create_app

async def start():
    app = create_app(migrate=True)
    app.state.migrate_in_child = True
    async with app.router.lifespan_context(app):
        async with app.state.engine.connect() as connection:
            names = await connection.run_sync(lambda c: c.dialect.get_table_names(c))
    heavy = [name for name in ("alembic", "mako", "nats", "aiohttp") if name in sys.modules]
    print(json.dumps({"tables": names, "imported": heavy}))

asyncio.run(start())
"""


def test_a_served_process_migrates_in_a_child_and_imports_neither_alembic_nor_nats(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSLOOP_")} | {
        "CSLOOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kpi.db'}",
        "CSLOOP_INTERNAL_SECRET": "migration-process-test-secret-32-bytes",
        "CSLOOP_LOG_LEVEL": "WARNING",
        "CSLOOP_RELAY_ENABLED": "false",
    }
    done = subprocess.run([sys.executable, "-c", SERVED_START], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout.strip().splitlines()[-1])
    assert "alembic_version" in started["tables"] and "outbox" in started["tables"]
    assert started["imported"] == []


def test_a_migration_that_fails_in_its_child_fails_the_start(tmp_path: Path) -> None:
    not_migrations = tmp_path / "no-migrations-here"
    with pytest.raises(MigrationFailed, match="exit status"):
        asyncio.run(upgrade(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", not_migrations, in_child=True))


def test_the_child_migrates_the_database_it_is_given(tmp_path: Path) -> None:
    database = tmp_path / "kpi.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{database}", Path(services.kpi.__file__).parent / "migrations",
                        in_child=True))
    with sqlite3.connect(database) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alembic_version", "outbox"} <= tables
