"""`csloop import customers|vehicles|deliveries|visits`: a CSV (any encoding and separator Excel
writes) or JSON Lines file streamed through the gateway with a progress bar; row errors named by
the row number Excel shows and the row's key (external_id, vin or ro_number).

CSV is re-written on the client as UTF-8 with commas (cli/csvfile.py) while it is sent, so the
server reads one format; JSON Lines is UTF-8 by definition and goes as it is.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from csloop_sdk import CSLoop
from cli.csvfile import column_values, detect, utf8_csv

CHUNK_BYTES = 256 * 1024
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
# The customer import's columns (services/customer/domain.py IMPORT_FIELDS; a test keeps them equal).
CUSTOMER_COLUMNS = ("external_id", "name", "phone", "email", "birth_date", "city",
                    "consent_survey", "consent_marketing", "consent_share_with_manufacturer")
CUSTOMER_REQUIRED = ("external_id", "name")
# The other imports' columns and keys (services/customer/fact_import.py COLUMNS; a test keeps them equal).
FACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "vehicles": ("vin", "model", "model_year", "plate", "owner_customer_id", "owner_external_id"),
    "deliveries": ("vin", "customer_id", "customer_external_id", "delivered_at", "sales_consultant"),
    "visits": ("ro_number", "vin", "customer_id", "customer_external_id", "visit_type", "opened_at", "closed_at",
               "symptom_codes", "op_codes", "mileage_km", "amount_minor", "advisor", "technician",
               "appointment_id", "repeat_of_ro", "repeat_cause"),
}
FACT_KEYS = {"vehicles": "vin", "deliveries": "vin", "visits": "ro_number"}


@dataclass
class RowError:
    row: int  # Excel's row number (the header is row 1); for JSON Lines, the line number
    key: str | None  # the row's value of `key_column`
    field: str
    message: str
    key_column: str = "external_id"

    def describe(self) -> str:
        which = f"row {self.row}" + (f" ({self.key_column} {self.key})" if self.key else "")
        return f"{which}: {self.field}: {self.message}"


@dataclass
class ImportResult:
    created: int
    updated: int
    failed: int
    errors: list[RowError]

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "failed": self.failed}


def import_customers(path: Path, dealer_code: str, url: str, key: str, *, encoding: str | None = None,
                     delimiter: str | None = None, console: Console | None = None) -> ImportResult:
    """POST the file to /v1/customers/import. Raises `CSLoopError` when the server refuses the
    whole import, `CommandFailed` when the file cannot be read."""
    return _import(path, url, key, lambda api, body, jsonl: api.customers.import_rows(body, dealer_code, jsonl=jsonl),
                   "external_id", encoding=encoding, delimiter=delimiter, console=console)


def import_facts(kind: str, path: Path, dealer_code: str, url: str, key: str, *, encoding: str | None = None,
                 delimiter: str | None = None, console: Console | None = None) -> ImportResult:
    """POST the file to /v1/{vehicles|deliveries|service-visits}/import (`kind`: a FACT_COLUMNS key)."""
    def send(api: CSLoop, body: Any, jsonl: bool) -> Any:
        resource = {"vehicles": api.vehicles, "deliveries": api.deliveries, "visits": api.service_visits}[kind]
        return resource.import_rows(body, dealer_code, jsonl=jsonl)

    return _import(path, url, key, send, FACT_KEYS[kind], encoding=encoding, delimiter=delimiter, console=console)


def _import(path: Path, url: str, key: str, send: Callable[[CSLoop, Any, bool], Any], key_column: str, *,
            encoding: str | None, delimiter: str | None, console: Console | None) -> ImportResult:
    console = console or Console(stderr=True)
    jsonl = path.suffix.lower() in JSONL_SUFFIXES
    fmt = None if jsonl else detect(path, encoding, delimiter)
    if fmt:
        console.print(f"reading {path.name} as {fmt.describe()}")
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console) as progress, CSLoop(url, api_key=key) as api:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size)
        if fmt:
            body = utf8_csv(path, fmt, lambda done: progress.update(task, completed=done))
        else:
            body = _chunks(path, lambda done: progress.update(task, completed=done))
        answer = send(api, body, jsonl)
    failed_rows = {error.row for error in answer.errors}
    keys = column_values(path, fmt, key_column, failed_rows) if fmt else _jsonl_keys(path, key_column, failed_rows)
    # The server counts CSV data records from 1; Excel counts the header as row 1.
    offset = 1 if fmt else 0
    errors = [RowError(e.row + offset, keys.get(e.row), e.field, e.message, key_column) for e in answer.errors]
    return ImportResult(answer.created, answer.updated, answer.failed, errors)


def _chunks(path: Path, read_so_far: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk
            read_so_far(source.tell())


def _jsonl_keys(path: Path, key_column: str, lines: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    if not lines:
        return found
    last = max(lines)
    with path.open(encoding="utf-8-sig", errors="replace") as text:
        for number, line in enumerate(text, start=1):
            if number in lines:
                try:
                    value = json.loads(line).get(key_column)
                except (ValueError, AttributeError):
                    value = None
                if value is not None:
                    found[number] = str(value)
            if number >= last:
                break
    return found
