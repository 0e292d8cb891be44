"""A service's migrations, run in the serving process or in a child process of their own.

A process started with --migrate (shared.serve) upgrades its database through
`python -m shared.migration_process`, a child that exits once done, so the serving process
never imports Alembic, Mako and the migration scripts: they would stay resident for its whole
life (about 7 MB of the 150 MB every process must stay under, issue 12 item 7). Apps that tests
build in their own process migrate in it (shared.migrations): quicker than a child each time.
"""

import asyncio
import os
import sys
from pathlib import Path

# The child reads the database URL from its environment: on its command line, `ps` would show the password.
DATABASE_URL_VARIABLE = "CSLOOP_MIGRATE_DATABASE_URL"


class MigrationFailed(RuntimeError):
    pass


async def upgrade(database_url: str, script_location: Path, *, in_child: bool) -> None:
    """Bring the database to the newest revision of the migrations at `script_location`."""
    if not in_child:
        from shared.migrations import upgrade as upgrade_here  # Alembic only where the migrations run

        await upgrade_here(database_url, script_location)
        return
    # The child writes its log and any traceback to this process's own output (the service's log).
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.migration_process", str(script_location),
        env={**os.environ, DATABASE_URL_VARIABLE: database_url},
    )
    if status := await child.wait():
        raise MigrationFailed(f"the migrations at {script_location} failed in their process (exit status {status})")


def main() -> None:
    from shared.migrations import upgrade_sync

    upgrade_sync(os.environ[DATABASE_URL_VARIABLE], Path(sys.argv[1]))


if __name__ == "__main__":
    main()
