"""The set-based writes of a customer import, one implementation per database.

PostgreSQL: batches are COPYed (COPY's text format) into a temporary staging table, then
inserted as new customers in one statement, or, once a row meets a stored customer, matched by
a handful of statements that reject conflicts, update the existing customers and insert the new
ones; each statement writes one outbox event per changed customer, all in the request's
transaction. That keeps a 100,000-row import near COPY speed. SQLite (development): Core
executemany per batch.
"""

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.customer.domain import ImportRow
from services.customer.models import TABLES, Customer
from services.customer.privacy import PiiView
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.events import new_event
from shared.orgs import OrgInfo
from shared.outbox import note_events_recorded, outbox_row

STAGE = "customer_import_stage"
STAGE_COLUMNS = ("row_no", "external_id", "name", "phone", "email", "birth_date", "city",
                 "consent_survey", "consent_marketing", "consent_share")
# Rows staged between two attempts to insert them all as new customers (see PostgresWriter).
MERGE_ROWS = 25_000
# The first attempt comes sooner: until then the database waits for the checks, which keep ahead
# of it for the rest of the import (a 25,000-row wait was about 0.2 s of a 2 s import).
FIRST_MERGE_ROWS = 5_000
ERASED = "this customer was erased and cannot be imported again"


def phone_taken(view: PiiView, dealer: OrgInfo, owner_id: Any, shares_with_manufacturer: bool) -> str:
    """The row's phone is another customer's. Naming that customer answers "whose phone is
    this?", which a caller above the dealer may not ask of a customer who does not share."""
    if view.shows_person(dealer.path, shares_with_manufacturer=shares_with_manufacturer):
        return f"already the phone of customer {owner_id}"
    return "already the phone of another customer"


@dataclass
class BulkResult:
    created: int = 0
    # Rows that matched an existing customer; `unchanged` of them changed nothing, so they
    # were not written and published no event (a nightly re-export stays cheap).
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


class ImportWriter(Protocol):
    async def start(self) -> None: ...
    def prepare(self, rows: list[ImportRow]) -> Any:
        """A checked batch as `add` takes it; pure, so the importer runs it in its checks' thread."""
    async def add(self, batch: Any) -> None: ...
    async def finish(self) -> BulkResult: ...


@dataclass(frozen=True)
class StagedBatch:
    """A checked batch in COPY's text format. A seventh of the memory of its row tuples (about
    0.5 MB for 5,000 rows against 3.6 MB), so more batches can wait checked while the database
    merges; and encoded in the checks' thread, where the driver's encoder ran on the event loop
    between the database's statements."""
    rows: int
    data: bytes


# COPY's text format: a backslash starts an escape, a tab ends a column, a newline a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"


def _lines(rows: list[ImportRow]) -> str:
    """`rows` as COPY's lines, their values as they are (STAGE_COLUMNS, in order)."""
    null = _COPY_NULL
    return "".join([
        f"{number}\t{external_id}\t{name}\t{null if phone is None else phone}\t{null if email is None else email}\t"
        f"{null if birth_date is None else birth_date.isoformat()}\t{null if city is None else city}\t"
        f"{null if survey is None else 't' if survey else 'f'}\t{null if marketing is None else 't' if marketing else 'f'}\t"
        f"{null if share is None else 't' if share else 'f'}\n"
        for number, external_id, name, phone, email, birth_date, city, survey, marketing, share in rows])


def staged_batch(rows: list[ImportRow]) -> StagedBatch:
    """`rows` as the lines COPY reads into the staging table. Values are written as they are
    (6x quicker than escaping each), unless the batch's text shows one held a character COPY
    reads specially: more tabs or newlines than the columns and rows make, more backslashes
    than the NULLs written (each `\\N`), or a carriage return; then every text value is escaped."""
    lines = _lines(rows)
    nulls = sum(row.count(None) for row in rows)
    if (lines.count("\t") != 9 * len(rows) or lines.count("\n") != len(rows) or lines.count("\\") != nulls
            or "\r" in lines):
        lines = _lines([tuple(value.translate(_COPY_ESCAPES) if value.__class__ is str else value for value in row)
                        for row in rows])
    return StagedBatch(len(rows), lines.encode())


def writer_for(session: AsyncSession, dealer: OrgInfo, view: PiiView) -> ImportWriter:
    note_events_recorded(session)  # both writers put one event per changed customer in the outbox
    if session.bind.dialect.name == "postgresql":
        return PostgresWriter(session, dealer, view)
    return SqliteWriter(session, dealer, view)


# --- PostgreSQL ---------------------------------------------------------------------------------

_CREATE_STAGE = f"""CREATE TEMP TABLE {STAGE} (row_no int, external_id text, name text, phone text,
    email text, birth_date date, city text, consent_survey boolean, consent_marketing boolean,
    consent_share boolean) ON COMMIT DROP"""

_REJECT_ERASED = f"""DELETE FROM {STAGE} s USING customers c
    WHERE c.dealer_code = :dealer AND c.external_id = s.external_id AND c.erased_at IS NOT NULL
    RETURNING s.row_no"""

_REJECT_PHONES = f"""DELETE FROM {STAGE} s USING customers c
    WHERE c.dealer_code = :dealer AND s.phone IS NOT NULL AND c.phone = s.phone
      AND c.external_id IS DISTINCT FROM s.external_id
    RETURNING s.row_no, c.id, c.consent_share_with_manufacturer"""

# One outbox row per changed customer, the CloudEvent (shared.events.CloudEvent, data =
# shared.contracts.customer.CustomerChanged) built by string concatenation: three times faster
# than json_build_object, which looks up each value's output function on every row. What is the
# same for every row of an import (source, type, time, dealer) comes encoded as :head, :subject
# and :data (`_event_parts`); only the customer's own values are encoded per row. The org path
# is the dealer's for a new customer (:path_json), the stored one for an updated customer.
def _outbox_from_changed(org_path_json: str) -> str:
    return f""", evented AS (SELECT changed.*, CAST(:id_base AS text) || lpad(to_hex(row_number() OVER ()), 5, '0') AS event_id
    FROM changed)
INSERT INTO outbox (event_id, type, payload, created_at, next_attempt_at, attempts)
SELECT event_id, CAST(:type AS text), (CAST(:head AS text) || event_id || CAST(:subject AS text) || id::text
    || CAST(:data AS text) || {org_path_json} || ',"customer_id":"' || id::text
    || '","external_id":' || COALESCE(to_json(external_id)::text, 'null')
    || ',"consent":{{"survey":' || consent_survey::text || ',"marketing":' || consent_marketing::text
    || ',"share_with_manufacturer":' || consent_share_with_manufacturer::text || '}},"version":' || version::text
    || '}}}}')::json,
    CAST(:now AS timestamptz), CAST(:now AS timestamptz), 0
FROM evented"""


def _uuid7_base() -> str:
    """The first 31 characters of one statement's ids (its events', its new customers'), shaped as
    a UUIDv7: the time in milliseconds, then 54 random bits; the statement adds 5 hex digits
    counting its rows. Ids in order go in at the right edge of a unique index (the outbox's on
    event_id, the customers' primary key and their (created_at, id) index), where random ones
    land all over it: the outbox INSERT of 100,000 events takes half the time, and so does the
    customers' INSERT."""
    millis = f"{time.time_ns() // 1_000_000:012x}"
    bits = secrets.randbits(54)
    return f"{millis[:8]}-{millis[8:]}-7{bits >> 42:03x}-{0x8000 | (bits >> 28) & 0x3FFF:04x}-{bits & 0xFFFFFFF:07x}"


def _event_parts(type_: str, now: datetime, dealer: OrgInfo) -> dict[str, str]:
    """The constant pieces of an import's events, around the event id, the customer id and the org path."""
    return {
        "id_base": _uuid7_base(),
        "type": type_, "head": '{"specversion":"1.0","id":"',
        "subject": f'","source":{json.dumps(contract.SOURCE)},"type":{json.dumps(type_)},"subject":"customers/',
        "data": f'","time":{json.dumps(now.isoformat())},"datacontenttype":"application/json","data":{{'
                f'"dealer_code":{json.dumps(dealer.code)},"org_path":',
        "path_json": json.dumps(dealer.path),
    }

_UPDATE = f"""WITH changed AS (
    UPDATE customers c SET name = s.name, phone = COALESCE(s.phone, c.phone), email = COALESCE(s.email, c.email),
        birth_date = COALESCE(s.birth_date, c.birth_date), city = COALESCE(s.city, c.city),
        consent_survey = COALESCE(s.consent_survey, c.consent_survey),
        consent_marketing = COALESCE(s.consent_marketing, c.consent_marketing),
        consent_share_with_manufacturer = COALESCE(s.consent_share, c.consent_share_with_manufacturer),
        version = c.version + 1, updated_at = CAST(:now AS timestamptz)
    FROM {STAGE} s WHERE c.dealer_code = :dealer AND c.external_id = s.external_id
      AND (c.name, c.phone, c.email, c.birth_date, c.city, c.consent_survey, c.consent_marketing,
           c.consent_share_with_manufacturer)
      IS DISTINCT FROM (s.name, COALESCE(s.phone, c.phone), COALESCE(s.email, c.email),
           COALESCE(s.birth_date, c.birth_date), COALESCE(s.city, c.city),
           COALESCE(s.consent_survey, c.consent_survey), COALESCE(s.consent_marketing, c.consent_marketing),
           COALESCE(s.consent_share, c.consent_share_with_manufacturer))
    RETURNING c.id, c.org_path, c.external_id, c.consent_survey, c.consent_marketing, c.consent_share_with_manufacturer,
        c.version){_outbox_from_changed("to_json(org_path)::text")}"""

def _insert(only_new: bool) -> str:
    """The new customers and their events; `only_new` skips the staged rows matching a stored
    customer (the updates' statement took them). Without, every staged row is inserted, and a
    unique index refuses the statement when one meets a stored customer (PostgresWriter)."""
    unmatched = ("WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.dealer_code = :dealer AND c.external_id = s.external_id)"
                 if only_new else "")
    return f"""WITH changed AS (
    INSERT INTO customers (id, dealer_code, org_path, external_id, name, phone, email, birth_date, city,
        consent_survey, consent_marketing, consent_share_with_manufacturer, version, created_at, updated_at)
    SELECT CAST(CAST(:customer_id_base AS text) || lpad(to_hex(row_number() OVER ()), 5, '0') AS uuid), CAST(:dealer AS text), CAST(:path AS text), s.external_id, s.name, s.phone, s.email, s.birth_date, s.city,
        COALESCE(s.consent_survey, false), COALESCE(s.consent_marketing, false), COALESCE(s.consent_share, false),
        1, CAST(:now AS timestamptz), CAST(:now AS timestamptz)
    FROM {STAGE} s
    {unmatched}
    RETURNING id, external_id, consent_survey, consent_marketing, consent_share_with_manufacturer, version){_outbox_from_changed("CAST(:path_json AS text)")}"""


_INSERT_UNMATCHED = _insert(only_new=True)
_INSERT_ALL = _insert(only_new=False)
_UNIQUE_VIOLATION = "23505"
_SAVEPOINT = "SAVEPOINT customer_import"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT customer_import"
_RELEASE_SAVEPOINT = "RELEASE SAVEPOINT customer_import"


class PostgresWriter:
    """Writes one dealer's import (CustomerRepository.import_writer hands it a dealer the caller
    reaches); every statement is keyed on that dealer's code, so it stays in the caller's scope.

    Batches are COPYed into a staging table as they come. After FIRST_MERGE_ROWS rows, then every
    MERGE_ROWS, the staged rows are first tried as new customers, all of them, in one INSERT with
    their events, in a savepoint: a file names each external id and phone once
    (`import_columns.ChunkChecker`), so a staged row can only meet a customer stored before the
    import, and the customers' unique indexes, on (dealer, external id) and (dealer, phone), say
    when one does. An import of new
    customers (a dealer's first, a DMS's list of customers new since the last) is so written
    along the way, while the checks go on, without the joins that find which rows are new: those
    read every customer of the dealer, the ones the import's earlier merges wrote included.

    The first unique violation rolls that attempt back to its savepoint, and from then on the
    rows stay staged and are matched once, at the end (`_match_staged`): rejections (an erased
    customer's external id, another customer's phone), updates, inserts of the rest. Once, as
    every match joins all the dealer's customers: matching along the way would read again the
    ones the import's earlier merges wrote (with four merges of 100,000 rows an import ran at
    0.45 of COPY into the customers' shape, with one at 0.52). What an attempt that failed had
    written is lost work, at most MERGE_ROWS rows once per import; an import of known customers
    fails on its first row.
    """

    def __init__(self, session: AsyncSession, dealer: OrgInfo, view: PiiView) -> None:
        self._session = session
        self._dealer = dealer
        self._view = view
        self._driver: Any = None
        self._result = BulkResult()
        self._now = utcnow()
        self._staged = 0
        self._all_new = True  # no staged row has met a stored customer yet

    async def start(self) -> None:
        # Enough memory for the import's joins and CTEs not to spill to disk; this transaction only.
        await self._session.execute(text("SET LOCAL work_mem = '64MB'"))
        await self._session.execute(text(_CREATE_STAGE))
        connection = await self._session.connection()
        # The asyncpg connection under the session, inside the same transaction.
        self._driver = (await connection.get_raw_connection()).driver_connection

    def prepare(self, rows: list[ImportRow]) -> StagedBatch:
        return staged_batch(rows)

    async def add(self, batch: StagedBatch) -> None:
        # A memoryview: asyncpg takes bytes for a file's path.
        await self._driver.copy_to_table(STAGE, source=memoryview(batch.data), columns=STAGE_COLUMNS, format="text")
        self._staged += batch.rows
        if self._all_new and self._staged >= (MERGE_ROWS if self._result.created else FIRST_MERGE_ROWS):
            await self._insert_staged()

    async def finish(self) -> BulkResult:
        if self._staged and self._all_new:
            await self._insert_staged()
        if self._staged:
            await self._match_staged()
        return self._result

    def _params(self, event_type: str) -> dict[str, Any]:
        return {"now": self._now, "path": self._dealer.path, "dealer": self._dealer.code,
                **_event_parts(event_type, self._now, self._dealer)}

    async def _insert_staged(self) -> None:
        """Insert every staged row as a new customer, or, when one meets a stored customer,
        nothing: the rows stay staged, and the import matches them at the end."""
        # The savepoint by its own name, in simple queries on the driver: the session's savepoints
        # are named sa_savepoint_1, _2, ..., each a statement the driver prepares and keeps in its
        # cache, and those kept from the middle of an import each held on to an arena of memory
        # the import's rows had filled (bench/README.md "An import's savepoints and the arenas they held").
        await self._driver.execute(_SAVEPOINT)
        try:
            # No ANALYZE of the staging table (a tenth of a merge's time): a table never analysed
            # is sized by its pages when a statement is planned.
            created = (await self._session.execute(
                text(_INSERT_ALL), {**self._params(contract.CUSTOMER_CREATED), "customer_id_base": _uuid7_base()})).rowcount
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
                raise
            await self._driver.execute(_ROLLBACK_TO_SAVEPOINT)
            self._all_new = False
            return
        await self._driver.execute(f"{_RELEASE_SAVEPOINT}; TRUNCATE {STAGE}")
        self._result.created += created
        self._staged = 0

    async def _match_staged(self) -> None:
        """Reject, update and insert the staged rows by what the dealer's customers hold."""
        run = self._session.execute
        dealer = {"dealer": self._dealer.code}
        rejected = [(row, "external_id", ERASED) for (row,) in await run(text(_REJECT_ERASED), dealer)]
        rejected += [(row, "phone", phone_taken(self._view, self._dealer, existing, shares))
                     for row, existing, shares in await run(text(_REJECT_PHONES), dealer)]
        changed = (await run(text(_UPDATE), self._params(contract.CUSTOMER_UPDATED))).rowcount
        created = (await run(text(_INSERT_UNMATCHED),
                             {**self._params(contract.CUSTOMER_CREATED), "customer_id_base": _uuid7_base()})).rowcount
        result = self._result
        result.rejected += rejected
        result.created += created
        updated = self._staged - len(rejected) - created
        result.updated += updated
        result.unchanged += updated - changed
        self._staged = 0


# --- SQLite -------------------------------------------------------------------------------------

_VALUE_COLUMNS = ("external_id", "name", "phone", "email", "birth_date", "city",
                  "consent_survey", "consent_marketing", "consent_share_with_manufacturer")


class SqliteWriter:
    """Writes one dealer's import, as PostgresWriter: every statement is keyed on that dealer's code."""

    def __init__(self, session: AsyncSession, dealer: OrgInfo, view: PiiView) -> None:
        self._session = session
        self._dealer = dealer
        self._view = view
        self._result = BulkResult()

    async def start(self) -> None:
        return None

    async def finish(self) -> BulkResult:
        return self._result

    async def _existing(self, column: Any, keys: list[Any]) -> dict[Any, Any]:
        table = Customer.__table__
        if not keys:
            return {}
        statement = select(table).where(table.c.dealer_code == self._dealer.code, column.in_(keys))
        return {getattr(row, column.key): row for row in (await self._session.execute(statement)).mappings()}

    def prepare(self, rows: list[ImportRow]) -> list[ImportRow]:
        return rows

    async def add(self, rows: list[ImportRow]) -> None:
        table = Customer.__table__
        by_external = await self._existing(table.c.external_id, [row[1] for row in rows])
        by_phone = await self._existing(table.c.phone, [row[3] for row in rows if row[3]])
        now = utcnow()
        inserts, updates = [], []
        for row in rows:
            if rejection := self._rejection(row, by_external, by_phone):
                self._result.rejected.append(rejection)
                continue
            current = by_external.get(row[1])
            values = dict(zip(_VALUE_COLUMNS, row[1:]))
            if current is None:
                inserts.append(self._new(values, now))
                continue
            self._result.updated += 1
            merged = self._merged(current, values, now)
            if all(merged[name] == current[name] for name in _VALUE_COLUMNS):
                self._result.unchanged += 1
            else:
                updates.append(merged)
        await self._write(inserts, updates)

    def _rejection(self, row: ImportRow, by_external: dict[Any, Any], by_phone: dict[Any, Any]) -> tuple[int, str, str] | None:
        current = by_external.get(row[1])
        if current is not None and current["erased_at"] is not None:
            return row[0], "external_id", ERASED
        owner = by_phone.get(row[3]) if row[3] else None
        if owner is not None and owner["external_id"] != row[1]:
            return row[0], "phone", phone_taken(self._view, self._dealer, owner["id"],
                                                owner["consent_share_with_manufacturer"])
        return None

    def _new(self, values: dict[str, Any], now: Any) -> dict[str, Any]:
        for name in _VALUE_COLUMNS[6:]:
            values[name] = bool(values[name])
        return {**values, "id": uuid.uuid4(), "dealer_code": self._dealer.code, "org_path": self._dealer.path,
                "version": 1, "created_at": now, "updated_at": now}

    @staticmethod
    def _merged(current: Any, values: dict[str, Any], now: Any) -> dict[str, Any]:
        merged = {name: current[name] for name in (*_VALUE_COLUMNS, "dealer_code", "org_path")}
        merged.update({name: value for name, value in values.items() if value is not None})
        return {**merged, "version": current["version"] + 1, "updated_at": now, "_id": current["id"]}

    async def _write(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        table = Customer.__table__
        if inserts:
            await self._session.execute(insert(table), inserts)
        if updates:
            columns = {name: bindparam(name) for name in (*_VALUE_COLUMNS, "version", "updated_at")}
            statement = update(table).where(table.c.id == bindparam("_id")).values(columns)
            await self._session.execute(statement, [{key: row[key] for key in (*columns, "_id")} for row in updates])
        events = [_event(contract.CUSTOMER_CREATED, values, values["id"]) for values in inserts]
        events += [_event(contract.CUSTOMER_UPDATED, values, values["_id"]) for values in updates]
        if events:
            await self._session.execute(insert(TABLES.outbox), events)
        self._result.created += len(inserts)


def _event(type_: str, values: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
    payload = contract.CustomerChanged(
        dealer_code=values["dealer_code"], org_path=values["org_path"], customer_id=customer_id,
        external_id=values["external_id"], consent=contract.Consent(
            survey=values["consent_survey"], marketing=values["consent_marketing"],
            share_with_manufacturer=values["consent_share_with_manufacturer"]),
        version=values["version"],
    )
    return outbox_row(new_event(contract.SOURCE, type_, f"customers/{customer_id}", payload.model_dump(mode="json")))
