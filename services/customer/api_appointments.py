"""HTTP endpoints of service appointments: book, list, read, move, and change status."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import AwareDatetime

from services.customer import appointments
from services.customer.deps import DirectoryDep, ReadRepo, WriteRepo
from services.customer.models import Appointment
from services.customer.repository import AppointmentFilter
from services.customer.schemas import AppointmentCreate, AppointmentRead, AppointmentStatusChange, AppointmentUpdate
from shared.contracts.customer import AppointmentStatus
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import UnprocessableContent, problem_responses

router = APIRouter(tags=["appointments"])


def _shown(response: Response, appointment: Appointment) -> AppointmentRead:
    """No masking to do: an appointment names its customer by id, never by contact data."""
    response.headers["ETag"] = etag_for(appointment.version)
    return AppointmentRead.model_validate(appointment)


@router.post("/v1/appointments", status_code=201, responses=problem_responses(401, 403, 404, 422))
async def create_appointment(data: AppointmentCreate, repo: WriteRepo, directory: DirectoryDep,
                             response: Response) -> AppointmentRead:
    """Book a service appointment (status `booked`; publishes appointment.changed). The customer
    is the dealer's, the VIN on the dealer's file, the advisor an active staff code of the dealer."""
    appointment = await appointments.book(repo, directory, data)
    response.headers["Location"] = f"/v1/appointments/{appointment.id}"
    return _shown(response, appointment)


def _utc(field: str, value: datetime | None) -> datetime | None:
    """Kept in UTC like the column; 0001-01-01T00:00+01:00 has no UTC instant (a 422, not a 500)."""
    try:
        return value.astimezone(UTC) if value else None
    except OverflowError as exc:
        raise UnprocessableContent(f"{field} is out of range", errors=[{"field": field, "message": "out of range"}]) from exc


async def _filter(
    updated_since: UpdatedSince,
    dealer_code: Annotated[str | None, Query(max_length=40)] = None,
    customer_id: uuid.UUID | None = None,
    status: AppointmentStatus | None = None,
    slot_from: Annotated[AwareDatetime | None, Query(description="Slot at or after")] = None,
    slot_to: Annotated[AwareDatetime | None, Query(description="Slot before")] = None,
) -> AppointmentFilter:
    return AppointmentFilter(dealer_code=dealer_code, customer_id=customer_id, status=status,
                             slot_from=_utc("slot_from", slot_from), slot_to=_utc("slot_to", slot_to),
                             updated_since=updated_since)


@router.get("/v1/appointments", responses=problem_responses(400, 401, 403, 422))
async def list_appointments(
    repo: ReadRepo, where: Annotated[AppointmentFilter, Depends(_filter)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AppointmentRead]:
    """A dealer's or a customer's appointments in the order booked, e.g. a day's slots
    (`slot_from`/`slot_to`); with `updated_since`, the delta feed."""
    rows, next_cursor = await repo.appointments(where, page)
    return Page(items=[AppointmentRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/appointments/{appointment_id}", responses=problem_responses(401, 403, 404))
async def get_appointment(appointment_id: uuid.UUID, repo: ReadRepo, response: Response) -> AppointmentRead:
    """Read one appointment."""
    row = await repo.get_visible(Appointment, appointment_id, missing=f"No appointment {appointment_id}")
    return _shown(response, row)


@router.patch("/v1/appointments/{appointment_id}", responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
async def update_appointment(
    appointment_id: uuid.UUID, data: AppointmentUpdate, repo: WriteRepo, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> AppointmentRead:
    """Move a booked appointment to another slot, type or advisor (If-Match; publishes
    appointment.changed). One that arrived, was missed or cancelled no longer moves: 409."""
    return _shown(response, await appointments.move(repo, appointment_id, data, if_match))


@router.post("/v1/appointments/{appointment_id}/status", responses=problem_responses(401, 403, 404, 409, 412, 422))
async def set_appointment_status(
    appointment_id: uuid.UUID, data: AppointmentStatusChange, repo: WriteRepo, response: Response,
    if_match: Annotated[str | None, Header(description="Optional: when sent, a stale ETag is a 412")] = None,
) -> AppointmentRead:
    """The customer arrived, did not come, or cancelled (publishes appointment.changed). Only a
    booked appointment moves (else 409); sending the status it already has changes nothing (200),
    so a retry is safe. A visit naming the appointment marks it arrived by itself."""
    return _shown(response, await appointments.set_status(repo, appointment_id, data, if_match))
