"""`csloop import customers`: a CSV (any encoding and separator Excel writes) or JSON Lines file
streamed through the gateway with a progress bar; row errors named by the row number Excel
shows and the row's external_id.

CSV is re-written on the client as UTF-8 with commas (cli/csvfile.py) while it is sent, so the
server reads one format; JSON Lines is UTF-8 by definition and goes as it is.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from cli.client import CSLoopClient
from cli.csvfile import column_values, detect, utf8_csv

CHUNK_BYTES = 256 * 1024
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
# The customer import's columns (services/customer/domain.py IMPORT_FIELDS; a test keeps them equal).
CUSTOMER_COLUMNS = ("external_id", "name", "phone", "email", "birth_date", "city",
                    "consent_survey", "consent_marketing", "consent_share_with_manufacturer")
CUSTOMER_REQUIRED = ("external_id", "name")


@dataclass
class RowError:
    row: int  # Excel's row number (the header is row 1); for JSON Lines, the line number
    external_id: str | None
    field: str
    message: str


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
    console = console or Console(stderr=True)
    jsonl = path.suffix.lower() in JSONL_SUFFIXES
    fmt = None if jsonl else detect(path, encoding, delimiter)
    if fmt:
        console.print(f"reading {path.name} as {fmt.describe()}")
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console) as progress, CSLoopClient(url, api_key=key) as api:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size)
        if fmt:
            body = utf8_csv(path, fmt, lambda done: progress.update(task, completed=done))
        else:
            body = _chunks(path, lambda done: progress.update(task, completed=done))
        answer = api.import_customers(body, dealer_code, jsonl=jsonl)
    failed_rows = {error["row"] for error in answer["errors"]}
    ids = column_values(path, fmt, "external_id", failed_rows) if fmt else _jsonl_external_ids(path, failed_rows)
    # The server counts CSV data records from 1; Excel counts the header as row 1.
    offset = 1 if fmt else 0
    errors = [RowError(e["row"] + offset, ids.get(e["row"]), e["field"], e["message"]) for e in answer["errors"]]
    return ImportResult(answer["created"], answer["updated"], answer["failed"], errors)


def _chunks(path: Path, read_so_far: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk
            read_so_far(source.tell())


def _jsonl_external_ids(path: Path, lines: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    if not lines:
        return found
    last = max(lines)
    with path.open(encoding="utf-8-sig", errors="replace") as text:
        for number, line in enumerate(text, start=1):
            if number in lines:
                try:
                    value = json.loads(line).get("external_id")
                except (ValueError, AttributeError):
                    value = None
                if value is not None:
                    found[number] = str(value)
            if number >= last:
                break
    return found
