"""Bulk customer import: stream the body to a spool file, check rows, hand batches to the
repository's import writer (`repository_bulk`).

CSV (`text/csv`): a header row naming customer fields: external_id, name, phone, email,
birth_date (YYYY-MM-DD), city, consent_survey, consent_marketing,
consent_share_with_manufacturer (true/false, 1/0, yes/no). JSON Lines
(`application/x-ndjson`): one object per line with the same keys; `consent` may also be an
object `{survey, marketing, share_with_manufacturer}`. external_id and name are required.

Upsert by (dealer, external_id). An empty or missing value never clears a stored one; a new
customer without consent columns has given none. `updated` counts the rows that matched an
existing customer; `unchanged` (a part of them) changed nothing and published no event. Row 1 is the first data row (for JSON
Lines, the first line). Bad rows are reported and skipped; the good ones are kept.
"""

import asyncio
import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.customer import domain, repository_bulk
from services.customer.import_columns import ChunkChecker, RowErrors, numbered_chunks
from services.customer.privacy import PiiView
from services.customer.repository import CustomerRepository
from shared.memory import give_back_memory
from shared.orgs import OrgInfo
from shared.problems import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType

CSV_TYPES = {"text/csv", "application/csv"}
NDJSON_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/ndjson"}
SPOOL_IN_MEMORY_BYTES = 4 * 1024 * 1024
# An import whose body is at least this large (about 20,000 customer rows) gives the memory it
# took back when done (shared.memory). A small one's peak is lost in the noise, while the full
# garbage collection and the trim cost tens of milliseconds of CPU (45 ms with 200,000 live
# objects): after each of a DMS's frequent small imports, more than the import itself.
GIVE_BACK_FROM_BYTES = 1024 * 1024
# Enough to fix a file by; `failed` still counts every bad row.
MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, row: int, errors: list[tuple[str, str]]) -> None:
        self.failed += 1
        for name, message in errors:
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append({"row": row, "field": name, "message": message})


def media_type(content_type: str | None) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in CSV_TYPES:
        return "csv"
    if kind in NDJSON_TYPES:
        return "ndjson"
    raise UnsupportedMediaType("Send text/csv or application/x-ndjson")


@asynccontextmanager
async def spooled(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[tempfile.SpooledTemporaryFile[bytes]]:
    """The body, kept in memory while small and on disk beyond that, for the import the block
    runs; afterwards closed, and after a large one the memory it took given back."""
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 - closed below
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"An import is at most {max_bytes} bytes; split the file")
            file.write(chunk)
        file.seek(0)
        yield file
    finally:
        file.close()
        if size >= GIVE_BACK_FROM_BYTES:
            await give_back_memory()


def csv_batches(text: io.TextIOBase, outcome: ImportOutcome, batch_rows: int) -> Iterator[list[domain.ImportRow]]:
    """Good rows in batches, each checked column by column (`import_columns`); bad rows go to `outcome`."""
    reader = csv.reader(text)
    header = [name.strip().lower() for name in next(reader, [])]
    if unknown := domain.unknown_import_fields(header):
        raise UnprocessableContent(f"Unknown columns: {', '.join(unknown)}",
                                   errors=[{"field": name, "message": "unknown column"} for name in unknown])
    if missing := [name for name in ("external_id", "name") if name not in header]:
        raise UnprocessableContent(f"Missing columns: {', '.join(missing)}",
                                   errors=[{"field": name, "message": "required column"} for name in missing])
    checker = ChunkChecker(header, date.today())
    failed: list[tuple[int, RowErrors]] = []
    for numbers, rows in numbered_chunks(reader, len(header), batch_rows, failed):
        batch, bad = checker.check(numbers, rows)
        for number, errors in [*failed, *bad]:
            outcome.fail(number, errors)
        failed.clear()
        if batch:
            yield batch
    for number, errors in failed:
        outcome.fail(number, errors)


def ndjson_batches(text: io.TextIOBase, outcome: ImportOutcome, batch_rows: int) -> Iterator[list[domain.ImportRow]]:
    """Good rows in batches, each line checked by the domain's row check; bad rows go to `outcome`."""
    checker, today = ChunkChecker(list(domain.IMPORT_FIELDS), date.today()), date.today()
    batch: list[domain.ImportRow] = []
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        row, errors = _ndjson_row(number, line, today)
        if row is None:
            outcome.fail(number, errors)
            continue
        batch.append(row)
        if len(batch) >= batch_rows:
            yield from _deduplicated(checker, batch, outcome)
            batch = []
    yield from _deduplicated(checker, batch, outcome)


def _ndjson_row(number: int, line: str, today: date) -> tuple[domain.ImportRow | None, RowErrors]:
    try:
        raw = json.loads(line)
    except ValueError:
        return None, [("row", "not valid JSON")]
    if not isinstance(raw, dict):
        return None, [("row", "not a JSON object")]
    raw = domain.flatten_consent(raw)
    if unknown := domain.unknown_import_fields(list(raw)):
        return None, [(name, "unknown field") for name in unknown]
    return domain.validate_import_row(number, raw, today)


def _deduplicated(checker: ChunkChecker, batch: list[domain.ImportRow], outcome: ImportOutcome) -> Iterator[list[domain.ImportRow]]:
    failed: list[tuple[int, RowErrors]] = []
    kept = checker.deduplicated(batch, failed)
    for number, errors in failed:
        outcome.fail(number, errors)
    if kept:
        yield kept


async def import_customers(repo: CustomerRepository, dealer: OrgInfo, kind: str, body: Any, batch_rows: int,
                           view: PiiView) -> ImportOutcome:
    """Batches are checked, and prepared for the writer, in a worker thread while the database
    writes the ones before: the checks are Python's work and the writes PostgreSQL's, each on a
    core of its own. The checks run ahead of the writer (a merge's worth at most), so they go
    on while the database merges the staged rows, not only while it COPYs the last batch."""
    outcome = ImportOutcome()
    writer = repo.import_writer(dealer, view)
    await writer.start()
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="" if kind == "csv" else None)
    batches = csv_batches(text, outcome, batch_rows) if kind == "csv" else ndjson_batches(text, outcome, batch_rows)
    # Checked batches waiting for the writer: a merge's worth, so the checks go on for the length
    # of a merge and the next rows are ready when it ends. Prepared for COPY
    # (repository_bulk.StagedBatch) 5,000 rows are about 0.5 MB; as row tuples they were 3.6 MB,
    # and a merge's worth of them took the import's peak past 150 MB (issue 12 item 7).
    read_ahead = max(1, repository_bulk.MERGE_ROWS // batch_rows)
    checked: asyncio.Queue[Any] = asyncio.Queue(read_ahead)  # prepared batches, an exception, None at the end
    stop = asyncio.Event()

    def next_prepared() -> Any:
        batch = next(batches, None)
        return None if batch is None else writer.prepare(batch)

    async def check() -> None:
        final: Exception | None = None
        try:
            while not stop.is_set() and (batch := await asyncio.to_thread(next_prepared)) is not None:
                await checked.put(batch)
        except Exception as exc:  # the file's fault (not UTF-8, not CSV, a bad header): raised by the writing side
            final = exc
        if not stop.is_set():
            await checked.put(final)

    checking = asyncio.create_task(check())
    try:
        while (item := await checked.get()) is not None:
            if isinstance(item, Exception):
                raise item
            await writer.add(item)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnprocessableContent(f"The body cannot be read as UTF-8 {kind}: {exc}") from exc
    finally:
        # On a failure (the transaction is then rolled back) the checks stop after the batch in
        # hand; its thread must be done before the caller closes the body it reads.
        stop.set()
        while not checked.empty():  # room for a check waiting to hand over, so it sees `stop`
            checked.get_nowait()
        await checking
    result = await writer.finish()
    outcome.created, outcome.updated, outcome.unchanged = result.created, result.updated, result.unchanged
    for number, name, message in sorted(result.rejected):
        outcome.fail(number, [(name, message)])
    outcome.errors.sort(key=lambda error: error["row"])
    return outcome
