"""Recalls: the manufacturer lists the affected VINs, each goes to its responsible dealer, and a
visit of that VIN with the remedy op code completes it.

The responsible dealer is the selling one, else the last servicing one. The complaint service
keeps it in a read model (`vehicle_dealers`) fed by vehicle.delivered and service_visit.closed,
rather than asking the customer service at import time: a 100,000-VIN import is then a local
indexed lookup and a multi-row insert per 5,000 VINs, with no network round trip and no
dependency on the customer service being up. A VIN sold or serviced after the import moves to
its dealer when the event arrives. Completion counts any visit type: dealers book recall work
as warranty or repair visits too, and the remedy op code is what proves it was done.

Progress is pooled: the rate of an org is its dealers' completed VINs over their affected VINs
(a large dealer weighs more than a small one), never a mean of the dealers' rates.
"""

import json
from collections.abc import Iterator

from services.complaint import events
from services.complaint.models import Recall
from services.complaint.repository_loop import LoopRepository
from services.complaint.schemas import (RecallCreate, RecallImportRead, RecallProgressItem, RecallProgressRead,
                                        RecallRead, RecallSummaryRead)
from shared.contracts import customer as customer_contract
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.orgs import OrgDirectory
from shared.pagination import PageParams
from shared.problems import Conflict, Forbidden, UnprocessableContent, UnsupportedMediaType
from shared.types import validate_vin

# VINs per recall.vin_assigned event: a 100,000-VIN import is about a hundred events, not 100,000.
EVENT_VINS = 1_000
MAX_IMPORT_VINS = 200_000
# Row errors named in a refused import (the first ones: a wrong file has thousands).
MAX_ERRORS = 20
CSV_TYPES = ("text/csv",)
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


def _rate(completed: int, affected: int) -> float | None:
    return completed / affected if affected else None


def _read(recall: Recall, added: int) -> RecallRead:
    return RecallRead(id=recall.id, code=recall.code, org_code=recall.org_code, title=recall.title,
                      remedy_op_code=recall.remedy_op_code, created_at=recall.created_at, vins_added=added)


async def _add_vins(repo: LoopRepository, recall: Recall, vins: list[str]) -> int:
    now = utcnow()
    await repo.lock_vin_owners(exclusive=True)
    added = await repo.add_vins(recall, list(dict.fromkeys(vins)), now)
    for (dealer_code, org_path), dealer_vins in sorted(added.items(), key=lambda item: item[0][1]):
        for start in range(0, len(dealer_vins), EVENT_VINS):
            await repo.publish(events.recall_vin_assigned(recall, dealer_code, org_path,
                                                          dealer_vins[start:start + EVENT_VINS], now))
    return sum(len(dealer_vins) for dealer_vins in added.values())


async def create(repo: LoopRepository, data: RecallCreate) -> RecallRead:
    principal = repo.principal
    if principal.org_kind != "manufacturer":
        raise Forbidden("Recalls are issued by the manufacturer")
    if await repo.recall_code_taken(data.code):
        raise Conflict(f"Recall {data.code} already exists")
    recall = Recall(code=data.code, org_code=principal.org_code, org_path=principal.org_path, title=data.title,
                    remedy_op_code=data.remedy_op_code, created_at=utcnow())
    await repo.add(recall)
    return _read(recall, await _add_vins(repo, recall, data.vins))


def _lines(body: bytes) -> Iterator[tuple[int, str]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnprocessableContent("The file is not UTF-8 text") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.strip()


def _vin_of(kind: str, line: str) -> str:
    if kind == "csv":
        return line.split(",", 1)[0].strip().strip('"')
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:  # a line nested 100,000 deep exhausts the parser's stack
        raise ValueError("not a JSON value") from exc
    if isinstance(value, dict):
        value = value.get("vin")
    if not isinstance(value, str):
        raise ValueError('a line is {"vin": "..."} or a JSON string')
    return value.strip()


def parse_vins(content_type: str | None, body: bytes) -> list[str]:
    """The VINs of a CSV (first column; a `vin` header line is skipped) or JSON Lines file.
    Any bad line refuses the whole file (422 naming the first lines): nothing is half imported."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in CSV_TYPES:
        kind = "csv"
    elif media in JSONL_TYPES:
        kind = "jsonl"
    else:
        raise UnsupportedMediaType("Send text/csv or application/x-ndjson (JSON Lines)")
    vins: list[str] = []
    errors: list[dict[str, str]] = []
    for number, line in _lines(body):
        if kind == "csv" and not vins and not errors and line.split(",", 1)[0].strip().strip('"').lower() == "vin":
            continue
        try:
            vins.append(validate_vin(_vin_of(kind, line)))
        except ValueError as exc:
            errors.append({"field": f"line {number}", "message": str(exc)})
    if errors:
        raise UnprocessableContent(f"{len(errors)} line(s) are not VINs; nothing was imported", errors=errors[:MAX_ERRORS])
    if len(vins) > MAX_IMPORT_VINS:
        raise UnprocessableContent(f"At most {MAX_IMPORT_VINS} VINs per request")
    if not vins:
        raise UnprocessableContent("The file holds no VIN")
    return vins


async def import_vins(repo: LoopRepository, code: str, vins: list[str]) -> RecallImportRead:
    recall = await repo.recall(code)
    if repo.principal.org_kind != "manufacturer" or not recall.org_path.startswith(repo.principal.path.prefix):
        raise Forbidden("The recall's manufacturer lists its VINs")
    return RecallImportRead(recall_code=recall.code, received=len(vins), added=await _add_vins(repo, recall, vins))


async def listed(repo: LoopRepository, directory: OrgDirectory, page: PageParams,
                 org_code: str | None) -> tuple[list[RecallSummaryRead], str | None]:
    org = await directory.org_in_subtree(repo.principal, org_code or repo.principal.org_code)
    rows, cursor = await repo.recalls(page, OrgPath(org.path))
    counts = await repo.subtree_counts([recall.id for recall in rows], OrgPath(org.path))
    items = []
    for recall in rows:
        affected, completed = counts.get(recall.id, (0, 0))
        items.append(RecallSummaryRead(code=recall.code, title=recall.title, remedy_op_code=recall.remedy_op_code,
                                       created_at=recall.created_at, affected=affected, completed=completed,
                                       rate=_rate(completed, affected)))
    return items, cursor


async def progress(repo: LoopRepository, directory: OrgDirectory, code: str, org_code: str | None) -> RecallProgressRead:
    recall = await repo.recall(code)
    org = await directory.org_in_subtree(repo.principal, org_code or repo.principal.org_code)
    rows = await repo.progress(recall.id, OrgPath(org.path))
    affected = sum(row[1] for row in rows)
    completed = sum(row[2] for row in rows)
    items = [RecallProgressItem(dealer_code=dealer_code, affected=n, completed=done, rate=_rate(done, n))
             for dealer_code, n, done in rows if dealer_code is not None]
    return RecallProgressRead(recall_code=recall.code, org_code=org.code, affected=affected, completed=completed,
                              rate=_rate(completed, affected), items=items)


# --- the customer service's events -------------------------------------------------------------

async def on_delivered(repo: LoopRepository, delivered: customer_contract.VehicleDelivered) -> None:
    await repo.lock_vin_owners(exclusive=False)
    await repo.note_delivery(delivered.vin, delivered.dealer_code, delivered.org_path)
    for recall in await repo.reassign(delivered.vin, delivered.dealer_code, delivered.org_path):
        await repo.publish(events.recall_vin_assigned(recall, delivered.dealer_code, delivered.org_path,
                                                      [delivered.vin], delivered.delivered_at))


async def on_visit_closed(repo: LoopRepository, visit: customer_contract.ServiceVisitClosed) -> None:
    """The visit makes its dealer the VIN's servicing dealer (responsible if nobody sold it), and
    completes the VIN's open recalls whose remedy op code it performed."""
    await repo.lock_vin_owners(exclusive=False)
    await repo.note_service(visit.vin, visit.dealer_code, visit.org_path, visit.closed_at)
    if responsible := await repo.responsible(visit.vin):
        dealer_code, org_path = responsible
        for recall in await repo.reassign(visit.vin, dealer_code, org_path):
            await repo.publish(events.recall_vin_assigned(recall, dealer_code, org_path, [visit.vin], visit.closed_at))
    if visit.op_codes:
        for recall, item in await repo.complete(visit.vin, visit.op_codes, visit.ro_number, visit.closed_at):
            await repo.publish(events.recall_completed(recall, item))
