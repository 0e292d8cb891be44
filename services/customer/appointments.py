"""Service appointments: booking, moving and closing them (arrived, no-show, cancelled), and a
visit keeping its appointment. Every booking and status change publishes appointment.changed,
which feeds the 3R convenience KPIs (show rate, lead days) and the dealers' webhooks."""

import uuid
from datetime import datetime

from services.customer import events
from services.customer.dealers import dealer_for_write
from services.customer.models import Appointment
from services.customer.repository import CustomerRepository
from services.customer.schemas import AppointmentCreate, AppointmentStatusChange, AppointmentUpdate
from services.customer.staff import require_staff_code
from shared.db import utcnow
from shared.etag import check_version
from shared.orgs import OrgDirectory
from shared.problems import Conflict, UnprocessableContent

BOOKED = "booked"


def _unknown(field: str, kind: str) -> UnprocessableContent:
    # Unknown, out of reach and another dealer's are one answer, so it tells nothing (API.md).
    return UnprocessableContent(f"Unknown {kind}", errors=[{"field": field, "message": f"unknown {kind}"}])


def _check_slot(requested_at: datetime, slot_at: datetime) -> None:
    if slot_at < requested_at:
        raise UnprocessableContent("An appointment's slot is not before it was requested",
                                   errors=[{"field": "slot_at", "message": "before requested_at"}])


async def book(repo: CustomerRepository, directory: OrgDirectory, data: AppointmentCreate) -> Appointment:
    dealer = await dealer_for_write(repo.principal, directory, data.dealer_code)
    customer = await repo.customer(data.customer_id)
    if customer is None or customer.dealer_code != dealer.code or customer.erased_at is not None:
        raise _unknown("customer_id", "customer")
    # The car must be on the dealer's file (not necessarily the customer's: a family car counts);
    # a car new to the dealer is put on file first, or booked without a VIN.
    if data.vin is not None and await repo.dealer_vehicle(dealer.code, data.vin) is None:
        raise _unknown("vin", "vehicle")
    await require_staff_code(repo, dealer.code, "advisor", data.advisor)
    now = utcnow()
    requested_at = data.requested_at or now
    _check_slot(requested_at, data.slot_at)
    appointment = Appointment(
        dealer_code=dealer.code, org_path=dealer.path, customer_id=customer.id, vin=data.vin, requested_at=requested_at,
        slot_at=data.slot_at, service_type=data.service_type, advisor=data.advisor, status=BOOKED, version=1,
        created_at=now, updated_at=now)
    await repo.add(appointment)
    await repo.publish(events.appointment_changed(appointment))
    return appointment


async def _visible(repo: CustomerRepository, appointment_id: uuid.UUID) -> Appointment:
    return await repo.get_visible(Appointment, appointment_id, missing=f"No appointment {appointment_id}")


async def move(repo: CustomerRepository, appointment_id: uuid.UUID, data: AppointmentUpdate,
               if_match: str | None) -> Appointment:
    """Another slot, type or advisor for a booked appointment (If-Match); publishes appointment.changed."""
    appointment = await _visible(repo, appointment_id)
    check_version(if_match, appointment.version)
    values = data.model_dump(exclude_unset=True)
    if "slot_at" in values and values["slot_at"] is None:
        raise UnprocessableContent("slot_at cannot be null", errors=[{"field": "slot_at", "message": "cannot be null"}])
    if appointment.status != BOOKED:
        raise Conflict(f"This appointment is {appointment.status}; only a booked one moves")
    if values.get("advisor") is not None:
        await require_staff_code(repo, appointment.dealer_code, "advisor", values["advisor"])
    changed = {name: value for name, value in values.items() if getattr(appointment, name) != value}
    if not changed:
        return appointment
    _check_slot(appointment.requested_at, changed.get("slot_at", appointment.slot_at))
    for name, value in changed.items():
        setattr(appointment, name, value)
    await _save(repo, appointment)
    return appointment


async def set_status(repo: CustomerRepository, appointment_id: uuid.UUID, data: AppointmentStatusChange,
                     if_match: str | None) -> Appointment:
    """booked -> arrived | no_show | cancelled. The status it already has is answered as it is
    (a retried call changes nothing, publishes nothing); any other move from a closed one is a 409."""
    appointment = await _visible(repo, appointment_id)
    if appointment.status == data.to:  # before If-Match: a retry carries the ETag the first call made stale
        return appointment
    if if_match:  # optional here: an empty header is no header
        check_version(if_match, appointment.version)
    if appointment.status != BOOKED:
        raise Conflict(f"This appointment is {appointment.status}; only a booked one changes status")
    await _close(repo, appointment, data.to)
    return appointment


async def _close(repo: CustomerRepository, appointment: Appointment, status: str) -> None:
    appointment.status, appointment.status_changed_at = status, utcnow()
    await _save(repo, appointment)


async def _save(repo: CustomerRepository, appointment: Appointment) -> None:
    appointment.updated_at = utcnow()
    appointment.version += 1
    await repo.flush()
    await repo.publish(events.appointment_changed(appointment))


async def for_visit(repo: CustomerRepository, dealer_code: str, customer_id: uuid.UUID,
                    appointment_id: uuid.UUID | None) -> Appointment | None:
    """The appointment a visit names: one of the visit's dealer and customer, else 422 unknown
    appointment. Checked before the visit is written (the column is a foreign key)."""
    if appointment_id is None:
        return None
    appointment = await repo.appointment(appointment_id)
    if appointment is None or (appointment.dealer_code, appointment.customer_id) != (dealer_code, customer_id):
        raise _unknown("appointment_id", "appointment")
    return appointment


async def visit_came(repo: CustomerRepository, appointment: Appointment | None) -> None:
    """A booked appointment whose visit is recorded has arrived (a closed one stays as it is)."""
    if appointment is not None and appointment.status == BOOKED:
        await _close(repo, appointment, "arrived")
