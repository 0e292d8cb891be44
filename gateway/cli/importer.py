"""`csloop import customers`: stream a CSV file through the gateway with a progress bar."""

from collections.abc import Iterator
from pathlib import Path

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

CHUNK_BYTES = 256 * 1024
# A large import is one long request: the server answers after the last row is stored.
IMPORT_TIMEOUT = httpx.Timeout(connect=10.0, read=1800.0, write=1800.0, pool=10.0)


def _chunks(path: Path, progress: Progress, task: int) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            progress.advance(task, len(chunk))
            yield chunk


def import_customers(path: Path, dealer_code: str, url: str, key: str) -> dict:
    """POST the file to /v1/customers/import; returns the server's {created, updated, failed, errors}."""
    content_type = "application/x-ndjson" if path.suffix in {".jsonl", ".ndjson"} else "text/csv"
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn()) as progress:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size)
        response = httpx.post(
            url.rstrip("/") + "/v1/customers/import", params={"dealer_code": dealer_code},
            content=_chunks(path, progress, task), timeout=IMPORT_TIMEOUT,
            headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
        )
    if response.status_code >= 300:
        raise ImportRefused(response.status_code, response.text)
    return response.json()


class ImportRefused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the server answered {status}: {body[:500]}")
        self.status = status
