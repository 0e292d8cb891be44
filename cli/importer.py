"""`csloop import customers`: stream a CSV file through the gateway with a progress bar."""

from collections.abc import Iterator
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from cli.client import CSLoopClient

CHUNK_BYTES = 256 * 1024


def _chunks(path: Path, progress: Progress, task: int) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            progress.advance(task, len(chunk))
            yield chunk


def import_customers(path: Path, dealer_code: str, url: str, key: str) -> dict:
    """POST the file to /v1/customers/import; returns the server's {created, updated, failed, errors}.

    Raises `CSLoopError` (with the problem document) when the server refuses the import.
    """
    jsonl = path.suffix in {".jsonl", ".ndjson"}
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn()) as progress, \
            CSLoopClient(url, api_key=key) as api:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size)
        return api.import_customers(_chunks(path, progress, task), dealer_code, jsonl=jsonl)
