"""Alembic, run programmatically: each service keeps its own migrations and its own database."""

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import create_engine, is_sqlite, private_directory


def alembic_config(script_location: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    return config


async def upgrade(database_url: str, script_location: Path, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision` (the newest by default), creating it if needed."""
    await ensure_database(database_url)
    await _migrate(database_url, command.upgrade, script_location, revision)


async def downgrade(database_url: str, script_location: Path, revision: str) -> None:
    await _migrate(database_url, command.downgrade, script_location, revision)


def upgrade_sync(database_url: str, script_location: Path) -> None:
    asyncio.run(upgrade(database_url, script_location))


async def _migrate(database_url: str, step: Callable[[Config, str], None], script_location: Path, revision: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # SQLite alters a table by copying it and dropping the old one (batch mode), and
                # with foreign keys on, dropping a table other rows point at fails. Off for the
                # migration (only outside a transaction does the pragma take effect), and every
                # reference checked before the migration's transaction commits.
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await connection.commit()
            async with connection.begin():
                await connection.run_sync(_run, step, alembic_config(script_location), revision)
    finally:
        await engine.dispose()


def _run(connection: Connection, step: Callable[[Config, str], None], config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    step(config, revision)
    if connection.dialect.name == "sqlite" and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")


def run_migrations_from_env() -> None:
    """The body of every service's `migrations/env.py`: migrate on the connection handed in."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def ensure_database(database_url: str) -> None:
    """Create the service's database (PostgreSQL) or its folder (SQLite) when missing."""
    url = make_url(database_url)
    if is_sqlite(database_url):
        if url.database and url.database != ":memory:":
            private_directory(Path(url.database).parent)
        return
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            exists = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database})
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        await admin.dispose()


def create_plumbing_tables() -> None:
    """Revision 1 of the outbox, processed-events and idempotency tables, for a service's first migration.

    Written out (not taken from today's table definitions) so the migration stays what it was
    when later code changes those tables through a migration of its own.
    """
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "next_attempt_at"])
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope_key", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("headers", sa.JSON),
        sa.Column("body", sa.LargeBinary),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def create_outbox_deliveries() -> None:
    """Revision 2 of the plumbing: delivery state per (event, subscriber) and the indexes that
    keep the relay's claim and the housekeeping's pruning fast with millions of kept rows.

    The outbox's rows already sent have nothing to deliver; rows still pending are fanned out
    by the relay as new ones are.
    """
    import sqlalchemy as sa
    from alembic import op

    from shared.db import UTCDateTime

    seq = sa.BigInteger().with_variant(sa.Integer, "sqlite")
    unsent = sa.text("sent_at IS NULL")
    op.create_table(
        "outbox_deliveries",
        sa.Column("id", seq, primary_key=True, autoincrement=True),
        sa.Column("seq", seq, sa.ForeignKey("outbox.seq", name="fk_outbox_deliveries_seq_outbox"), nullable=False),
        sa.Column("subscriber", sa.String(500), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_deliveries"),
        sa.UniqueConstraint("seq", "subscriber", name="uq_outbox_deliveries_seq_subscriber"),
    )
    op.create_index("ix_outbox_deliveries_due", "outbox_deliveries", ["subscriber", "next_attempt_at"],
                    postgresql_where=unsent, sqlite_where=unsent)
    op.create_index("ix_outbox_deliveries_sent_at", "outbox_deliveries", ["sent_at"])
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_unsent", "outbox", ["seq"], postgresql_where=unsent, sqlite_where=unsent)
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])
    create_processed_events_index()


def drop_outbox_deliveries() -> None:
    from alembic import op

    drop_processed_events_index()
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["sent_at", "next_attempt_at"])
    op.drop_table("outbox_deliveries")


def create_processed_events_index() -> None:
    """The housekeeping prunes processed-event ids oldest first."""
    from alembic import op

    op.create_index("ix_processed_events_processed_at", "processed_events", ["processed_at"])


def drop_processed_events_index() -> None:
    from alembic import op

    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
