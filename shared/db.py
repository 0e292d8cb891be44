"""Async database engine, one transaction per request, and column types every service uses."""

import asyncio
import math
import os
import time
import weakref
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import orjson
from sqlalchemy import DateTime, Executable, MetaData, Select, TypeDecorator, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.util import greenlet_spawn

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


def json_text(value: Any) -> str:
    """A JSON column's value as the text stored: what `json.dumps` gives, but without its spaces
    and escapes, at a tenth of its time (measured on a survey's answers: 0.7 against 6.2 us; each
    submission stores three or four such values). Keys that are not strings become strings, as
    with `json.dumps`."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(url):
        private_sqlite_files(url)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Modest (the apps pass CSLOOP_DATABASE_POOL_SIZE and _MAX_OVERFLOW): a process keeps
    # `pool_size` open, and CI runs every suite's processes, replicas included, against one server
    # of 100 connections. No request holds two at a time (`fetch_one` returns its connection before
    # the request's session takes one), so the overflow is for bursts only.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # No pre-ping: it costs every checkout a round trip. A connection the server closed is
    # replaced at checkout (`_refuse_closed`) or found by the first statement on it (`begun_session`
    # and `_read_alone` start again on a fresh one), and one older than the server's or a
    # proxy's idle cut-off is never handed out.
    kwargs.setdefault("pool_recycle", 1800)
    # The most recently used connection first: its prepared statements are warm, and the ones
    # left idle after a burst age out instead of being kept alive by rotation.
    kwargs.setdefault("pool_use_lifo", True)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection whose server already closed it (a restart, an idle cut-off) is
    replaced at checkout, without a round trip: the driver saw the socket close."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


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


# A session-level advisory lock by name: held by the connection until unlocked or closed.
_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtext(:key))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtext(:key))")


@asynccontextmanager
async def job_lease(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Whether this process runs the timed job `name`'s pass now. On PostgreSQL, a session-level
    advisory lock held on a connection of its own for the whole pass (which may span many
    transactions): of the replicas of a service, one runs each pass and the others skip it until
    their next interval. A process that dies mid-pass drops its connection, and the lock with it.
    SQLite serves one process: always yes."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = {"key": f"csloop.job.{name}"}
    async with engine.connect() as connection:
        taken = bool(await connection.scalar(_TRY_LOCK, key))
        await connection.commit()  # the lock outlives the transaction; the connection holds it
        try:
            yield taken
        finally:
            if taken:
                await connection.scalar(_UNLOCK, key)
                await connection.commit()


class HeldLease:
    """A lease a process keeps across passes once it has it: a session-level advisory lock on a
    connection of its own, held until `release()` or until the process dies (its connection drops,
    and the lock with it). For work any replica could do but one replica doing all of it is
    cheaper: the outbox relay, where every replica's relay claiming from one outbox made more,
    smaller passes (issue 19 item 8: with one relay among two replicas the mixed load served 29 %
    more), and the pull from a service's durable NATS consumer (shared.nats_transport). A
    replica refused asks again at most every `retry_seconds`, so the wake after each of its
    commits costs it nothing; the holder checks as often that its connection still answers
    (after a database restart the lock is gone, and another replica may take it). SQLite serves
    one process: always held."""

    def __init__(self, engine: AsyncEngine, name: str, retry_seconds: float) -> None:
        self._engine = engine
        self._key = {"key": f"csloop.lease.{name}"}
        self.retry_seconds = retry_seconds
        self._connection: AsyncConnection | None = None
        self._asked_at = -math.inf

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[bool]:
        yield await self.held()

    async def held(self) -> bool:
        """Whether this process holds the lease now (asked of the database at most every
        `retry_seconds`; in between, the last answer)."""
        if self._engine.dialect.name != "postgresql":
            return True
        if time.monotonic() - self._asked_at < self.retry_seconds:
            return self._connection is not None
        self._asked_at = time.monotonic()
        if self._connection is not None:
            try:
                await self._connection.scalar(text("SELECT 1"))
                await self._connection.commit()  # not left idle in a transaction (it would hold back vacuum)
                return True
            except DBAPIError:
                await self._connection.invalidate()
                self._connection = None
        connection = await self._engine.connect()
        try:
            taken = bool(await connection.scalar(_TRY_LOCK, self._key))
            await connection.commit()  # the lock outlives the transaction; the connection holds it
        except BaseException:
            await connection.close()
            raise
        if taken:
            self._connection = connection
        else:
            await connection.close()
        return taken

    async def release(self) -> None:
        """Give the lease up (the process stops): another replica takes it at its next ask."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            await connection.scalar(_UNLOCK, self._key)
            await connection.commit()
        except DBAPIError:
            await connection.invalidate()
        await connection.close()


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
    """The first row of a Core `statement` for the session's org, or None.

    On PostgreSQL the statement is compiled once and the driver fetches the row: no ORM, no
    Core result processing, which cost a hot GET a third of its time. Inside the session's
    transaction when it has begun; otherwise in a transaction of its own on a pooled
    connection (`_read_alone`), so a request that only reads one row never begins the ORM
    session at all. The row answers attribute access like a Core row. Elsewhere, an
    ordinary Core execute in the session.
    """
    if session.bind.dialect.name != "postgresql":
        return (await session.execute(statement, params)).first()
    sql, names = _compiled(statement, session.bind.dialect)
    args = [params[name] for name in names]
    if session.in_transaction():
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        record = await _translated(driver.fetchrow(sql, *args), sql)
    else:
        record = await _read_alone(session.bind, session.info.get("org_path"), sql, args)
    return None if record is None else DriverRow(record)


# The driver's errors of a connection that is gone: closed by the server, reset, or never opened.
# A connection the server terminated while it sat in the pool may also be left with its protocol
# mid-message ("cannot switch to state 15; another operation is in progress": InternalClientError,
# seen in CI after pg_terminate_backend): unusable all the same.
_CONNECTION_LOST = (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, asyncpg.exceptions.InternalClientError,
                    OSError)


async def _read_alone(engine: AsyncEngine, org_path: str | None, sql: str, args: list[Any]) -> Any:
    """One row read in its own transaction (BEGIN with the org setting, the SELECT, COMMIT) straight
    on a pooled connection's driver: a quarter of what the ORM session's begin and commit cost.

    Under READ COMMITTED a read in a transaction of its own sees what the same statement sees
    inside the request's (each statement takes a fresh snapshot, and a plain SELECT holds no
    lock), and the connection goes back to the pool before the ORM session of the same
    request (if it has one) takes one: never two at a time. A dead pooled connection is
    replaced at BEGIN (`_begun_on_pooled`).
    """
    async with _kept_connection_slots(engine.pool):
        return await _read_on_pooled(engine, org_path, sql, args)


_KEPT_CONNECTION_SLOTS: "weakref.WeakKeyDictionary[Pool, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


def _kept_connection_slots(pool: Pool) -> asyncio.Semaphore:
    """At most as many transactions on the driver at once (these reads, `driver_transaction`) as
    the pool keeps connections; the rest queue.

    Past `pool_size` a checkout opens an overflow connection, and a full pool closes it on
    return: under a steady load of more concurrent GETs (or survey submissions) than that,
    every one beyond it paid a new connection (TLS attempt, authentication, statements
    prepared again, a server process started), which cost more than waiting a turn for one of
    the kept ones. The overflow stays for the ORM sessions' bursts. A driver transaction never
    opens another inside its block, so the queue cannot deadlock.
    """
    slots = _KEPT_CONNECTION_SLOTS.get(pool)
    if slots is None:
        slots = _KEPT_CONNECTION_SLOTS[pool] = asyncio.Semaphore(pool.size())  # type: ignore[attr-defined]
    return slots


async def _read_on_pooled(engine: AsyncEngine, org_path: str | None, sql: str, args: list[Any]) -> Any:
    pooled, transaction = await _begun_on_pooled(engine, org_path)
    driver = pooled.driver_connection
    try:
        record = await driver.fetchrow(sql, *args)
        await transaction.commit()
    except _CONNECTION_LOST as exc:
        pooled.invalidate(exc)
        raise OperationalError(sql, None, exc) from exc
    except BaseException as exc:
        await _rolled_back(transaction, pooled)
        if isinstance(exc, asyncpg.PostgresError):
            raise DBAPIError(sql, None, exc) from exc
        raise
    await _returned(pooled)
    return record


async def _rolled_back(transaction: Any, pooled: Any) -> None:
    """Return a connection whose statement failed (or was cancelled) to the pool clean, or drop it."""
    try:
        await transaction.rollback()
    except BaseException:
        pooled.invalidate()
        raise
    await _returned(pooled)


async def _returned(pooled: Any) -> None:
    """Back to the pool, with no transaction open. In a greenlet, as SQLAlchemy's pool expects:
    a pool already full closes the connection, which is IO."""
    await greenlet_spawn(pooled.close)


async def _translated(fetch: Awaitable[Any], sql: str) -> Any:
    """The driver's errors as SQLAlchemy's, which the problem handlers answer (a 503 for a lost connection)."""
    try:
        return await fetch
    except _CONNECTION_LOST as exc:
        raise OperationalError(sql, None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(sql, None, exc) from exc


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


class CoreStatements(Protocol):
    """Core statements in one transaction, whichever way they reach the database (`core_transaction`)."""

    async def fetch_one(self, statement: Executable, params: dict[str, Any]) -> Any: ...

    async def execute(self, statement: Executable, params: dict[str, Any]) -> None: ...

    @property
    def writes_in_with(self) -> bool:
        """Whether a statement's WITH may hold an INSERT (PostgreSQL's may, SQLite's not)."""
        ...


@asynccontextmanager
async def core_transaction(sessions: async_sessionmaker[AsyncSession], org_path: str | None) -> AsyncIterator[CoreStatements]:
    """One transaction for `org_path` that runs Core statements only, committed when the block
    ends and rolled back when it raises.

    On PostgreSQL it runs straight on a pooled connection's driver (`driver_transaction`): no
    ORM session to begin, commit and close, and no SQLAlchemy execution per statement, which
    together cost a public survey submission a quarter of its time. Elsewhere, in an ORM
    session's connection (`SessionStatements`), which sets the org the same way.
    """
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        async with driver_transaction(engine, org_path) as statements:
            yield statements
        return
    async with sessions(info={"org_path": org_path}) as session, session.begin():
        yield SessionStatements(session)


class SessionStatements:
    """`CoreStatements` through an ORM session's connection: its transaction, its org setting."""

    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def fetch_one(self, statement: Executable, params: dict[str, Any]) -> Any:
        return (await (await self._session.connection()).execute(statement, params)).first()

    async def execute(self, statement: Executable, params: dict[str, Any]) -> None:
        await (await self._session.connection()).execute(statement, params)

    @property
    def writes_in_with(self) -> bool:
        return self._session.bind.dialect.name == "postgresql"


class DriverTransaction:
    """`CoreStatements` straight on the driver (asyncpg) of a transaction `driver_transaction` began.

    Each statement is compiled once (`_driver_statement`); its parameters pass through the
    dialect's bind processors, so the driver gets what SQLAlchemy would send (JSON as the
    text the dialect's codec expects, datetimes checked for their offset). Rows come back
    as the driver decodes them, read by attribute (`DriverRow`).
    """

    __slots__ = ("_driver", "_dialect")

    def __init__(self, driver: Any, dialect: Any) -> None:
        self._driver = driver
        self._dialect = dialect

    async def fetch_one(self, statement: Executable, params: dict[str, Any]) -> DriverRow | None:
        sql, args = _driver_statement(statement, self._dialect).arguments(params)
        record = await _translated(self._driver.fetchrow(sql, *args), sql)
        return None if record is None else DriverRow(record)

    async def execute(self, statement: Executable, params: dict[str, Any]) -> None:
        sql, args = _driver_statement(statement, self._dialect).arguments(params)
        await _translated(self._driver.execute(sql, *args), sql)

    writes_in_with = True  # the driver's database is PostgreSQL


@asynccontextmanager
async def driver_transaction(engine: AsyncEngine, org_path: str | None) -> AsyncIterator[DriverTransaction]:
    """BEGIN with the org setting, the block's statements and COMMIT on a pooled connection's driver
    (PostgreSQL); on failure ROLLBACK, or the connection dropped when it is the failure."""
    async with _kept_connection_slots(engine.pool):
        pooled, transaction = await _begun_on_pooled(engine, org_path)
        driver = pooled.driver_connection
        try:
            yield DriverTransaction(driver, engine.dialect)
            await _translated(transaction.commit(), "COMMIT")
        except BaseException:
            if driver.is_closed():
                pooled.invalidate()
            else:
                await _rolled_back(transaction, pooled)
            raise
        await _returned(pooled)


async def _begun_on_pooled(engine: AsyncEngine, org_path: str | None) -> tuple[Any, "_DriverBlock"]:
    """A pooled connection with its transaction begun for `org_path`, BEGIN and the org setting
    sent together (`rls.begin_with_setting`). The pool does not ping: a connection the server
    closed fails there, is discarded, and the next one is tried (after a server restart every
    pooled connection is dead, hence up to the pool's size)."""
    path = org_path or ""
    begin = rls.begin_with_setting(path)
    for _stale in range(engine.pool.size() + 1):  # type: ignore[attr-defined]
        pooled = await engine.raw_connection()
        driver = pooled.driver_connection
        block = _DriverBlock(driver)
        try:
            await driver.execute(begin)
            if begin == rls.BEGIN:  # a path the literal could not hold: bound
                await driver.execute(rls.DRIVER_SET, path)
        except _CONNECTION_LOST as exc:
            pooled.invalidate(exc)
            continue
        except BaseException as exc:
            if driver.is_closed():
                pooled.invalidate()
            else:
                await _rolled_back(block, pooled)
            if isinstance(exc, asyncpg.PostgresError):
                raise DBAPIError(begin, None, exc) from exc
            raise
        return pooled, block
    raise OperationalError("BEGIN", None, ConnectionError("no live connection to the database"))


class _DriverBlock:
    """The end of a transaction `_begun_on_pooled` began on the driver with its own BEGIN (not
    asyncpg's Transaction, which sends BEGIN alone)."""

    __slots__ = ("_driver",)

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    async def commit(self) -> None:
        await self._driver.execute("COMMIT")

    async def rollback(self) -> None:
        await self._driver.execute("ROLLBACK")


_PARAMETER = object()  # a bound value the caller passes (the others are the statement's own literals)


class _DriverStatement:
    """A Core statement as the driver runs it: its SQL, and how to turn the caller's parameters
    into the driver's positional arguments."""

    __slots__ = ("statement", "sql", "_binds")

    def __init__(self, statement: Executable, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.statement = statement  # kept, so its id is never reused while it is cached
        self.sql = str(compiled)
        binds = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            assert not bind.expanding, "an IN list is compiled per length: use = ANY(:array)"
            # A bindparam() without a value is the caller's; a compared or assigned literal
            # ('sent' in a WHERE) is the statement's own, unless the caller overrides it.
            default = _PARAMETER if bind.required else bind.effective_value
            binds.append((name, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self._binds = tuple(binds)

    def arguments(self, params: dict[str, Any]) -> tuple[str, list[Any]]:
        args = []
        for name, default, process in self._binds:
            value = params[name] if default is _PARAMETER else params.get(name, default)
            args.append(value if process is None else process(value))
        return self.sql, args


_DRIVER_STATEMENTS: dict[int, _DriverStatement] = {}


def _driver_statement(statement: Executable, dialect: Any) -> _DriverStatement:
    """Compiled once per statement (kept by identity, like `_compiled`)."""
    found = _DRIVER_STATEMENTS.get(id(statement))
    if found is None:
        found = _DRIVER_STATEMENTS[id(statement)] = _DriverStatement(statement, dialect)
    return found


# A service's declarative base maps `Mapped[datetime]` to UTCDateTime with this.
TYPE_ANNOTATION_MAP: dict[Any, Any] = {datetime: UTCDateTime}
