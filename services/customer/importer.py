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

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.customer import domain
from services.customer.privacy import PiiView
from services.customer.repository import CustomerRepository
from shared.orgs import OrgInfo
from shared.problems import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType

CSV_TYPES = {"text/csv", "application/csv"}
NDJSON_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/ndjson"}
SPOOL_IN_MEMORY_BYTES = 4 * 1024 * 1024
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


async def spool(chunks: AsyncIterator[bytes], max_bytes: int) -> tempfile.SpooledTemporaryFile[bytes]:
    """The body, kept in memory while small and on disk beyond that."""
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 - closed by the caller
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            file.close()
            raise PayloadTooLarge(f"An import is at most {max_bytes} bytes; split the file")
        file.write(chunk)
    file.seek(0)
    return file


def csv_rows(text: io.TextIOBase) -> Iterator[tuple[int, dict[str, Any] | None, list[tuple[str, str]]]]:
    reader = csv.reader(text)
    header = [name.strip().lower() for name in next(reader, [])]
    if unknown := domain.unknown_import_fields(header):
        raise UnprocessableContent(f"Unknown columns: {', '.join(unknown)}",
                                   errors=[{"field": name, "message": "unknown column"} for name in unknown])
    if missing := [name for name in ("external_id", "name") if name not in header]:
        raise UnprocessableContent(f"Missing columns: {', '.join(missing)}",
                                   errors=[{"field": name, "message": "required column"} for name in missing])
    width = len(header)
    for number, values in enumerate(reader, start=1):
        if not values:
            continue
        if len(values) != width:
            yield number, None, [("row", f"has {len(values)} values, the header {width}")]
            continue
        yield number, dict(zip(header, values)), []


def ndjson_rows(text: io.TextIOBase) -> Iterator[tuple[int, dict[str, Any] | None, list[tuple[str, str]]]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            yield number, None, [("row", "not valid JSON")]
            continue
        if not isinstance(raw, dict):
            yield number, None, [("row", "not a JSON object")]
            continue
        raw = domain.flatten_consent(raw)
        if unknown := domain.unknown_import_fields(list(raw)):
            yield number, None, [(name, "unknown field") for name in unknown]
            continue
        yield number, raw, []


class _Deduplicator:
    """A file names each customer once, and a phone belongs to one of its customers."""

    def __init__(self) -> None:
        self._external: dict[str, int] = {}
        self._phones: dict[str, tuple[str, int]] = {}

    def check(self, row: domain.ImportRow) -> list[tuple[str, str]]:
        number, external_id, phone = row[0], row[1], row[3]
        if (first := self._external.get(external_id)) is not None:
            return [("external_id", f"duplicate of row {first}")]
        if phone is not None and (owner := self._phones.get(phone)) and owner[0] != external_id:
            return [("phone", f"same phone as row {owner[1]}")]
        self._external[external_id] = number
        if phone is not None:
            self._phones[phone] = (external_id, number)
        return []


def _checked_batches(rows: Iterator[tuple[int, dict[str, Any] | None, list[tuple[str, str]]]],
                     outcome: ImportOutcome, batch_rows: int) -> Iterator[list[domain.ImportRow]]:
    """Good rows in batches; bad rows go to `outcome` as they are met."""
    dedupe, batch, today = _Deduplicator(), [], date.today()
    for number, raw, errors in rows:
        row = None
        if raw is not None:
            row, errors = domain.validate_import_row(number, raw, today)
        if row is not None:
            errors = dedupe.check(row)
        if errors:
            outcome.fail(number, errors)
            continue
        batch.append(row)
        if len(batch) >= batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_customers(repo: CustomerRepository, dealer: OrgInfo, kind: str, body: Any, batch_rows: int,
                           view: PiiView) -> ImportOutcome:
    outcome = ImportOutcome()
    writer = repo.import_writer(dealer, view)
    await writer.start()
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="" if kind == "csv" else None)
    try:
        for batch in _checked_batches(csv_rows(text) if kind == "csv" else ndjson_rows(text), outcome, batch_rows):
            await writer.add(batch)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnprocessableContent(f"The body cannot be read as UTF-8 {kind}: {exc}") from exc
    result = await writer.finish()
    outcome.created, outcome.updated, outcome.unchanged = result.created, result.updated, result.unchanged
    for number, name, message in sorted(result.rejected):
        outcome.fail(number, [(name, message)])
    outcome.errors.sort(key=lambda error: error["row"])
    return outcome
