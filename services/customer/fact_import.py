"""Bulk imports of vehicles, deliveries and service visits: CSV or JSON Lines, upserted row by row.

The body is spooled as the customer import spools it (`importer.spooled`), then each row goes
through the same use case as its single-record upsert (`vehicles.upsert_vehicle`,
`upsert_delivery`, `upsert_visit`), in a savepoint of its own: a bad row is reported and
undone, the good ones are kept, and the events are the single-record ones (a visit's first
close publishes service_visit.closed, a later change service_visit.updated, a delivery's first
import vehicle.delivered). Row by row is slower than the customer import's set-based writer,
which a DMS's customer master needs (100,000s of rows); vehicle and repair-order files are
daily deltas.

Keys: a vehicle by (dealer, vin), a delivery by (dealer, vin), a visit by (dealer, ro_number).
As in the customer import, an empty or missing value never clears a stored one. A customer is
named by `customer_id` or, as a DMS knows them, `customer_external_id` (`owner_*` for a
vehicle's owner). Lists (`symptom_codes`, `op_codes`) are `;`-separated in CSV, arrays in JSON.
Row 1 is the first data row (for JSON Lines, the first line). Staff codes (`sales_consultant`,
`advisor`, `technician`) must be active ones of the dealer, else the row fails with "unknown staff
member"; they are looked up once per batch of rows, not per row.
"""

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from services.customer import vehicles
from services.customer.importer import ImportOutcome
from services.customer.repository import CustomerRepository
from services.customer.schemas import DeliveryCreate, ServiceVisitUpsert, VehicleUpsert
from services.customer.staff import KnownStaff, StaffCheck
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import Problem, UnprocessableContent
from shared.types import validate_vin

Kind = Literal["vehicles", "deliveries", "visits"]
Row = dict[str, Any]
RowErrors = list[tuple[str, str]]

COLUMNS: dict[str, tuple[str, ...]] = {
    "vehicles": ("vin", "model", "model_year", "plate", "owner_customer_id", "owner_external_id"),
    "deliveries": ("vin", "customer_id", "customer_external_id", "delivered_at", "sales_consultant"),
    "visits": ("ro_number", "vin", "customer_id", "customer_external_id", "visit_type", "opened_at", "closed_at",
               "symptom_codes", "op_codes", "mileage_km", "amount_minor", "advisor", "technician",
               "appointment_id", "repeat_of_ro", "repeat_cause"),
}
REQUIRED: dict[str, tuple[str, ...]] = {"vehicles": ("vin",), "deliveries": ("vin", "delivered_at"),
                                        "visits": ("ro_number", "vin")}
LISTS = ("symptom_codes", "op_codes")
# The columns naming staff by code, checked for a whole batch of rows in one query.
STAFF_COLUMNS: dict[str, tuple[str, ...]] = {"vehicles": (), "deliveries": vehicles.DELIVERY_STAFF,
                                             "visits": vehicles.VISIT_STAFF}
BATCH_ROWS = 500


def _csv_rows(kind: Kind, text: io.TextIOBase) -> Iterator[tuple[int, Row, RowErrors]]:
    reader = csv.reader(text)
    header = [name.strip().lower() for name in next(reader, [])]
    if unknown := [name for name in header if name not in COLUMNS[kind]]:
        raise UnprocessableContent(f"Unknown columns: {', '.join(unknown)}",
                                   errors=[{"field": name, "message": "unknown column"} for name in unknown])
    if missing := [name for name in REQUIRED[kind] if name not in header]:
        raise UnprocessableContent(f"Missing columns: {', '.join(missing)}",
                                   errors=[{"field": name, "message": "required column"} for name in missing])
    for number, record in enumerate(reader, start=1):
        if not any(value.strip() for value in record):
            continue
        if len(record) != len(header):
            yield number, {}, [("row", f"{len(record)} values for {len(header)} columns")]
            continue
        row = {name: value.strip() for name, value in zip(header, record) if value.strip()}
        for name in LISTS:
            if name in row:
                row[name] = [code.strip() for code in row[name].split(";") if code.strip()]
        yield number, row, _row_errors(kind, row)


def _ndjson_rows(kind: Kind, text: io.TextIOBase) -> Iterator[tuple[int, Row, RowErrors]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            yield number, {}, [("row", "not valid JSON")]
            continue
        if not isinstance(raw, dict):
            yield number, {}, [("row", "not a JSON object")]
            continue
        if unknown := [name for name in raw if name not in COLUMNS[kind]]:
            yield number, {}, [(name, "unknown field") for name in unknown]
            continue
        row = {name: value for name, value in raw.items() if value is not None and value != ""}
        yield number, row, _row_errors(kind, row)


def _row_errors(kind: Kind, row: Row) -> RowErrors:
    """A row's key is required; PostgreSQL text cannot hold a NUL (a row error, not a failed import)."""
    return ([(name, "required") for name in REQUIRED[kind] if name not in row]
            + [(name, "contains a NUL character") for name, value in row.items()
               if isinstance(value, str) and "\x00" in value])


async def _customer(repo: CustomerRepository, dealer: OrgInfo, row: Row, prefix: str) -> Any:
    """The customer a row names by id or by the dealer's own external id (None: named neither way)."""
    id_field = "owner_customer_id" if prefix == "owner" else "customer_id"
    if (external_id := row.get(f"{prefix}_external_id")) is None:
        return row.get(id_field)
    customer = await repo.customer_with_external_id(dealer.code, str(external_id))
    if customer is None:
        raise UnprocessableContent(f"No customer {external_id} at {dealer.code}",
                                   errors=[{"field": f"{prefix}_external_id", "message": "unknown customer"}])
    return customer.id


def _vin(row: Row) -> str:
    try:
        return validate_vin(str(row["vin"]))
    except ValueError as exc:
        raise UnprocessableContent("Not a VIN", errors=[{"field": "vin", "message": str(exc)}]) from exc


def _given(row: Row, model: type, *leave_out: str) -> Row:
    return {name: value for name, value in row.items() if name in model.model_fields and name not in leave_out}


async def _vehicle(repo: CustomerRepository, directory: OrgDirectory, dealer: OrgInfo, row: Row, _: StaffCheck) -> str:
    vin = _vin(row)
    stored = await repo.dealer_vehicle(dealer.code, vin)
    current = VehicleUpsert.model_validate(stored, from_attributes=True).model_dump() if stored else {}
    owner = await _customer(repo, dealer, row, "owner")
    values = current | _given(row, VehicleUpsert) | ({"owner_customer_id": owner} if owner else {})
    before = stored.version if stored else None
    vehicle, created = await vehicles.upsert_vehicle(repo, directory, dealer.code, vin, VehicleUpsert.model_validate(values), None)
    return "created" if created else "unchanged" if vehicle.version == before else "updated"


async def _delivery(repo: CustomerRepository, directory: OrgDirectory, dealer: OrgInfo, row: Row,
                    staff: StaffCheck) -> str:
    vin = _vin(row)
    stored = await repo.dealer_delivery(dealer.code, vin)
    current = {"customer_id": stored.customer_id, "delivered_at": stored.delivered_at,
               "sales_consultant": stored.sales_consultant} if stored else {}
    customer = await _customer(repo, dealer, row, "customer")
    values = current | _given(row, DeliveryCreate, "vin", "dealer_code") | ({"customer_id": customer} if customer else {})
    data = DeliveryCreate.model_validate(values | {"vin": vin, "dealer_code": dealer.code})
    _, outcome = await vehicles.upsert_delivery(repo, directory, data, staff)
    return outcome


async def _visit(repo: CustomerRepository, directory: OrgDirectory, dealer: OrgInfo, row: Row, staff: StaffCheck) -> str:
    ro_number = str(row["ro_number"])
    if len(ro_number) > 50:
        raise UnprocessableContent("An RO number is at most 50 characters",
                                   errors=[{"field": "ro_number", "message": "at most 50 characters"}])
    stored = await repo.visit_by_ro(dealer.code, ro_number)
    current = ServiceVisitUpsert.model_validate(stored, from_attributes=True).model_dump() if stored else {}
    customer = await _customer(repo, dealer, row, "customer")
    values = current | _given(row, ServiceVisitUpsert) | ({"customer_id": customer} if customer else {})
    before = stored.version if stored else None
    visit, created = await vehicles.upsert_visit(repo, directory, dealer.code, ro_number,
                                                 ServiceVisitUpsert.model_validate(values), None, staff)
    return "created" if created else "unchanged" if visit.version == before else "updated"


UPSERTS: dict[str, Callable[[CustomerRepository, OrgDirectory, OrgInfo, Row, StaffCheck], Awaitable[str]]] = {
    "vehicles": _vehicle, "deliveries": _delivery, "visits": _visit,
}


async def import_rows(repo: CustomerRepository, directory: OrgDirectory, dealer: OrgInfo, kind: Kind, media: str,
                      body: Any) -> ImportOutcome:
    """Upsert every row of `body` (spooled) into `dealer`'s records; a bad row is undone and reported."""
    outcome = ImportOutcome()
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="" if media == "csv" else None)
    rows = _csv_rows(kind, text) if media == "csv" else _ndjson_rows(kind, text)
    try:
        for batch in _batches(rows):
            staff = await KnownStaff.of(repo, dealer.code, {str(row[name]).strip() for _, row, errors in batch if not errors
                                                            for name in STAFF_COLUMNS[kind] if name in row})
            for number, row, errors in batch:
                if not errors:
                    errors = await _apply(repo, directory, dealer, kind, row, staff, outcome)
                if errors:
                    outcome.fail(number, errors)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnprocessableContent(f"The body cannot be read as UTF-8 {media}: {exc}") from exc
    return outcome


def _batches(rows: Iterable[tuple[int, Row, RowErrors]]) -> Iterator[list[tuple[int, Row, RowErrors]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH_ROWS)):
        yield batch


async def _apply(repo: CustomerRepository, directory: OrgDirectory, dealer: OrgInfo, kind: Kind, row: Row,
                 staff: StaffCheck, outcome: ImportOutcome) -> RowErrors:
    try:
        async with repo.savepoint():
            result = await UPSERTS[kind](repo, directory, dealer, row, staff)
    except ValidationError as exc:
        return [(".".join(str(part) for part in error["loc"]) or "row", error["msg"]) for error in exc.errors()]
    except Problem as exc:
        return [(error["field"], error["message"]) for error in exc.errors] if exc.errors else [("row", exc.detail or "")]
    except (IntegrityError, StaleDataError):
        return [("row", "conflicts with a record written at the same time; send the row again")]
    outcome.created += result == "created"
    outcome.updated += result != "created"
    outcome.unchanged += result == "unchanged"
    return []
