"""Async database engine, one transaction per request, and column types every service uses."""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, Select, TypeDecorator, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from shared import rls

# Deterministic constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: CSLoop stores UTC with an offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        private_sqlite_files(url)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # No pre-ping: it costs every checkout a round trip. A connection that died is found by the
    # first statement on it (`begun_session` starts the request again on a fresh one),
    # and one older than the server's or a proxy's idle cut-off is never handed out.
    kwargs.setdefault("pool_recycle", 1800)
    # The most recently used connection first: its prepared statements are warm, and the ones
    # left idle after a burst age out instead of being kept alive by rotation.
    kwargs.setdefault("pool_use_lifo", True)
    return create_async_engine(url, **kwargs)


PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> None:
    """Create `path` (and missing parents) readable by this user only; an existing one is left as it is."""
    missing = [parent for parent in (path, *path.parents) if not parent.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIRECTORY, exist_ok=True)
        directory.chmod(PRIVATE_DIRECTORY)  # mkdir's mode passes through the umask


def private_sqlite_files(url: str) -> None:
    """The database holds personal data, key hashes and webhook secrets: 0600, created so before
    SQLite opens it. SQLite gives its -wal and -shm files the database file's mode; ones left
    from an earlier run are narrowed here too."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    private_directory(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(PRIVATE_FILE)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def ping(engine: AsyncEngine) -> None:
    """The readiness check's question: does the database answer? Raises when it does not."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


class SuperuserRefused(RuntimeError):
    """The process would connect as a role that row-level security does not bind."""


async def refuse_superuser(url: str) -> None:
    """Refuse a PostgreSQL role that is a superuser or has BYPASSRLS: row-level security
    (shared/rls.py) would silently not apply to it."""
    if is_sqlite(url):
        return
    row = await _current_role(url)
    if row.rolsuper or row.rolbypassrls:
        raise SuperuserRefused(
            f"The database role '{row.rolname}' is a superuser or bypasses row-level security, so no "
            "organisation's rows would be protected from another's. Connect as the plain role (csloop_app, "
            "see README), or start with --allow-superuser for administration only.")


async def _current_role(url: str) -> Any:
    """The role's attributes, asked of the service's database, or of the maintenance database
    when the service's does not exist yet (a first start with --migrate creates it)."""
    own = make_url(url)
    try:
        return await _role_at(own)
    except DBAPIError:
        return await _role_at(own.set(database="postgres"))


async def _role_at(url: URL) -> Any:
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(
                "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))).one()
    finally:
        await engine.dispose()


class OrgScopedSession(Session):
    """Starts every transaction by telling PostgreSQL whose rows it may touch (shared/rls.py)."""


@event.listens_for(OrgScopedSession, "after_begin")
def _set_org_path(session: Session, _transaction: Any, connection: Any) -> None:
    rls.apply_setting(connection, session.info.get("org_path"))


def session_factory(engine: AsyncEngine, org_path: str | None = rls.SYSTEM_PATH) -> async_sessionmaker[AsyncSession]:
    """Sessions acting for `org_path`: the system's "/" unless a request session narrows it to its caller."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, sync_session_class=OrgScopedSession,
                              info={"org_path": org_path})


async def begun_session(sessions: async_sessionmaker[AsyncSession], org_path: str | None = rls.SYSTEM_PATH) -> AsyncSession:
    """A session whose transaction has begun (BEGIN and the org setting, which every request pays
    anyway) on a connection that answered. The pool does not ping (see `create_engine`): a
    connection the server or a network cut dropped fails here, the pool discards it and every
    connection as old, and the request starts again on a fresh one instead of failing."""
    try:
        return await _begin(sessions, org_path)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return await _begin(sessions, org_path)


async def _begin(sessions: async_sessionmaker[AsyncSession], org_path: str | None) -> AsyncSession:
    session = sessions(info={"org_path": org_path})
    try:
        await session.connection()
    except BaseException:
        await session.close()
        raise
    return session


async def fetch_one(session: AsyncSession, statement: Select[Any], params: dict[str, Any]) -> Any:
    """The first row of a Core `statement` in the session's transaction, or None.

    On PostgreSQL the statement is compiled once and the driver fetches the row on the
    session's connection, inside its transaction (so the row-level-security setting holds):
    no ORM, no Core result processing, which cost a hot GET a third of its time. The row
    answers attribute access like a Core row. Elsewhere, an ordinary Core execute.
    """
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return (await connection.execute(statement, params)).first()
    sql, names = _compiled(statement, connection.dialect)
    driver = (await connection.get_raw_connection()).driver_connection
    record = await driver.fetchrow(sql, *(params[name] for name in names))
    return None if record is None else DriverRow(record)


_COMPILED: dict[int, tuple[Select[Any], str, tuple[str, ...]]] = {}


def _compiled(statement: Select[Any], dialect: Any) -> tuple[str, tuple[str, ...]]:
    """The driver's SQL and parameter order of a statement built once (kept by identity; the
    statement is kept too, so its id is never reused)."""
    entry = _COMPILED.get(id(statement))
    if entry is None:
        compiled = statement.compile(dialect=dialect)
        entry = _COMPILED[id(statement)] = (statement, str(compiled), tuple(compiled.positiontup or ()))
    return entry[1], entry[2]


class DriverRow:
    """A driver's record read by attribute, as a Core row is."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None


# A service's declarative base maps `Mapped[datetime]` to UTCDateTime with this.
TYPE_ANNOTATION_MAP: dict[Any, Any] = {datetime: UTCDateTime}
