"""Vehicle, delivery and service-visit use cases."""

import uuid
from typing import Any

from services.customer import appointments, events
from services.customer.dealers import dealer_for_write
from services.customer.models import Customer, Delivery, ServiceVisit, Vehicle
from services.customer.repository import CustomerRepository
from services.customer.schemas import (
    DeliveryCreate, ServiceVisitCreate, ServiceVisitUpdate, ServiceVisitUpsert, VehicleCreate, VehicleUpsert,
)
from services.customer.staff import StaffCheck, require_staff_code
from shared.etag import check_version
from shared.orgs import OrgDirectory, OrgInfo
from shared.problems import Conflict, PreconditionFailed, UnprocessableContent


# The fields naming staff by code (API.md, Staff).
DELIVERY_STAFF = ("sales_consultant",)
VISIT_STAFF = ("advisor", "technician")


async def _customer_of_dealer(repo: CustomerRepository, customer_id: uuid.UUID, dealer: OrgInfo,
                              field: str = "customer_id") -> Customer:
    customer = await repo.customer(customer_id)
    if customer is None or customer.dealer_code != dealer.code:
        # API.md: unknown, out of reach or another dealer's is one answer, so it tells nothing.
        raise UnprocessableContent(f"No customer {customer_id} at {dealer.code}",
                                   errors=[{"field": field, "message": "unknown customer"}])
    if customer.erased_at is not None:
        raise UnprocessableContent("The customer was erased", errors=[{"field": field, "message": "erased customer"}])
    return customer


async def _check_staff(check: StaffCheck, repo: CustomerRepository, dealer_code: str, values: dict[str, Any],
                       fields: tuple[str, ...], stored: Any = None) -> None:
    """A staff code the record newly names must be an active one of its dealer (API.md, Staff); a
    code it already carries may stay, so a retired member's records can still be corrected."""
    for field in fields:
        if values.get(field) is not None and (stored is None or getattr(stored, field) != values[field]):
            await check(repo, dealer_code, field, values[field])


async def get_vehicle(repo: CustomerRepository, vin: str) -> Vehicle:
    """The caller's file of a VIN; above dealer level, the most recently touched one."""
    return await repo.get_visible(Vehicle, vin.strip().upper(), key=Vehicle.vin, order_by=Vehicle.updated_at.desc(),
                                  missing=f"No vehicle {vin}")


async def _dealer_of_vehicle(repo: CustomerRepository, directory: OrgDirectory, data: VehicleCreate) -> OrgInfo:
    if data.dealer_code is None and data.owner_customer_id is not None:
        owner = await repo.customer(data.owner_customer_id)
        if owner is None:
            raise UnprocessableContent(f"No customer {data.owner_customer_id}",
                                       errors=[{"field": "owner_customer_id", "message": "unknown customer"}])
        return OrgInfo(code=owner.dealer_code, name=owner.dealer_code, kind="dealer", path=owner.org_path)
    return await dealer_for_write(repo.principal, directory, data.dealer_code)


async def create_vehicle(repo: CustomerRepository, directory: OrgDirectory, data: VehicleCreate) -> Vehicle:
    dealer = await _dealer_of_vehicle(repo, directory, data)
    if data.owner_customer_id is not None:
        await _customer_of_dealer(repo, data.owner_customer_id, dealer, "owner_customer_id")
    if existing := await repo.dealer_vehicle(dealer.code, data.vin):
        raise Conflict("This dealer already has this VIN on file", existing_id=str(existing.id),
                       errors=[{"field": "vin", "message": "already on file"}])
    vehicle = Vehicle(dealer_code=dealer.code, org_path=dealer.path, vin=data.vin, model=data.model,
                      model_year=data.model_year, plate=data.plate, owner_customer_id=data.owner_customer_id, version=1)
    await repo.add(vehicle)
    return vehicle


def _matches(if_match: str | None, row: Any, kind: str) -> None:
    """An upsert's optional If-Match: against the stored version, or a 412 when nothing is stored."""
    if if_match is None:
        return
    if row is None:
        raise PreconditionFailed(f"No {kind} to match yet; send no If-Match to create it")
    check_version(if_match, row.version)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set `values` on `row` and bump its version (if it has one); False (and nothing touched)
    when none differs."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    if changed and hasattr(row, "version"):
        row.version += 1
    return bool(changed)


async def upsert_vehicle(repo: CustomerRepository, directory: OrgDirectory, dealer_code: str | None, vin: str,
                         data: VehicleUpsert, if_match: str | None) -> tuple[Vehicle, bool]:
    """Create or replace a dealer's file of a VIN; True when created. Without `dealer_code`
    (`PUT /v1/vehicles/{vin}`) the caller's own dealer, so only a dealer's key may leave it out."""
    if dealer_code is None:
        dealer = await dealer_for_write(repo.principal, directory, None)
    else:
        dealer = await directory.dealer_for(repo.principal, dealer_code, in_query=True)
    if data.owner_customer_id is not None:
        await _customer_of_dealer(repo, data.owner_customer_id, dealer, "owner_customer_id")
    vehicle = await repo.dealer_vehicle(dealer.code, vin)
    _matches(if_match, vehicle, "vehicle on this dealer's file")
    if vehicle is None:
        vehicle = Vehicle(dealer_code=dealer.code, org_path=dealer.path, vin=vin, version=1, **data.model_dump())
        await repo.add(vehicle)
        return vehicle, True
    if _assign(vehicle, data.model_dump()):
        await repo.flush()
    return vehicle, False


async def _vehicle_on_file(repo: CustomerRepository, dealer: OrgInfo, vin: str, owner: Customer) -> Vehicle:
    """The dealer's file of the VIN, opened on first contact (a DMS often sends the RO first)."""
    vehicle = await repo.dealer_vehicle(dealer.code, vin)
    if vehicle is None:
        vehicle = Vehicle(dealer_code=dealer.code, org_path=dealer.path, vin=vin, owner_customer_id=owner.id, version=1)
        await repo.add(vehicle)
    return vehicle


async def create_delivery(repo: CustomerRepository, directory: OrgDirectory, data: DeliveryCreate,
                          staff: StaffCheck = require_staff_code) -> Delivery:
    dealer = await directory.dealer_for(repo.principal, data.dealer_code)
    customer = await _customer_of_dealer(repo, data.customer_id, dealer)
    await _check_staff(staff, repo, dealer.code, data.model_dump(), DELIVERY_STAFF)
    vehicle = await _vehicle_on_file(repo, dealer, data.vin, customer)
    vehicle.owner_customer_id = customer.id
    vehicle.delivered_at = data.delivered_at
    vehicle.version += 1
    delivery = Delivery(dealer_code=dealer.code, org_path=dealer.path, vin=data.vin, customer_id=customer.id,
                        delivered_at=data.delivered_at, sales_consultant=data.sales_consultant)
    await repo.add(delivery)
    await repo.publish(events.vehicle_delivered(delivery, vehicle))
    return delivery


async def upsert_delivery(repo: CustomerRepository, directory: OrgDirectory, data: DeliveryCreate,
                          staff: StaffCheck = require_staff_code) -> tuple[Delivery, str]:
    """A delivery by (dealer, VIN), for imports: the first is recorded as `create_delivery` does
    (vehicle.delivered: the SSI invitation, the new-car follow-up); a later one corrects it and
    publishes nothing, so a file sent twice invites nobody twice. Created, updated or unchanged."""
    dealer = await directory.dealer_for(repo.principal, data.dealer_code)
    delivery = await repo.dealer_delivery(dealer.code, data.vin)
    if delivery is None:
        return await create_delivery(repo, directory, data, staff), "created"
    customer = await _customer_of_dealer(repo, data.customer_id, dealer)
    await _check_staff(staff, repo, dealer.code, data.model_dump(), DELIVERY_STAFF, delivery)
    if not _assign(delivery, {"customer_id": customer.id, "delivered_at": data.delivered_at,
                              "sales_consultant": data.sales_consultant}):
        return delivery, "unchanged"
    vehicle = await _vehicle_on_file(repo, dealer, data.vin, customer)
    _assign(vehicle, {"owner_customer_id": customer.id, "delivered_at": data.delivered_at})
    await repo.flush()
    return delivery, "updated"


async def _model_of(repo: CustomerRepository, visit: ServiceVisit) -> str | None:
    """The visited vehicle's model on the dealer's file (EDER groups quality evidence by it)."""
    vehicle = await repo.dealer_vehicle(visit.dealer_code, visit.vin)
    return vehicle.model if vehicle else None


async def _check_repeat(repo: CustomerRepository, dealer_code: str, ro_number: str, vin: str,
                        repeat_of_ro: str | None) -> None:
    """A repeat visit names the RO whose fix failed: one of the same VIN's visits at any dealer.
    Anything else (unknown, another VIN's, the visit itself) is one answer, so it tells nothing."""
    if repeat_of_ro is not None and not await repo.vin_has_visit(vin, repeat_of_ro, (dealer_code, ro_number)):
        raise UnprocessableContent(f"No other visit {repeat_of_ro} of this VIN",
                                   errors=[{"field": "repeat_of_ro", "message": "unknown visit"}])


def _check_times(visit: ServiceVisit) -> None:
    if visit.opened_at and visit.closed_at and visit.closed_at < visit.opened_at:
        raise UnprocessableContent("A visit closes after it opens",
                                   errors=[{"field": "closed_at", "message": "before opened_at"}])


async def create_visit(repo: CustomerRepository, directory: OrgDirectory, data: ServiceVisitCreate) -> ServiceVisit:
    dealer = await directory.dealer_for(repo.principal, data.dealer_code)
    customer = await _customer_of_dealer(repo, data.customer_id, dealer)
    if existing := await repo.visit_by_ro(dealer.code, data.ro_number):
        raise Conflict("This dealer already has this repair order; PATCH it instead", existing_id=str(existing.id),
                       errors=[{"field": "ro_number", "message": "already on file"}])
    await _check_staff(require_staff_code, repo, dealer.code, data.model_dump(), VISIT_STAFF)
    await _check_repeat(repo, dealer.code, data.ro_number, data.vin, data.repeat_of_ro)
    return await _insert_visit(repo, dealer, customer, data.ro_number, data.model_dump(exclude={"dealer_code", "ro_number"}))


async def _insert_visit(repo: CustomerRepository, dealer: OrgInfo, customer: Customer, ro_number: str,
                        values: dict[str, Any]) -> ServiceVisit:
    appointment = await appointments.for_visit(repo, dealer.code, customer.id, values.get("appointment_id"))
    visit = ServiceVisit(dealer_code=dealer.code, org_path=dealer.path, version=1, ro_number=ro_number,
                         owner_verified=await repo.is_owner_on_record(values["vin"], dealer.code, customer.phone),
                         **values)
    _check_times(visit)
    await _vehicle_on_file(repo, dealer, visit.vin, customer)
    await repo.add(visit)
    await appointments.visit_came(repo, appointment)
    if visit.closed_at is not None:
        await repo.publish(events.service_visit_closed(visit, await _model_of(repo, visit)))
    return visit


async def update_visit(repo: CustomerRepository, visit_id: uuid.UUID, data: ServiceVisitUpdate,
                       if_match: str | None) -> ServiceVisit:
    """Closing a visit (closed_at set for the first time) publishes service_visit.closed once."""
    visit = await repo.get_visible(ServiceVisit, visit_id)
    check_version(if_match, visit.version)
    values = data.model_dump(exclude_unset=True)
    for name, value in values.items():
        if value is None and name in {"visit_type", "symptom_codes", "op_codes"}:
            raise UnprocessableContent(f"{name} cannot be null", errors=[{"field": name, "message": "cannot be null"}])
    await _check_staff(require_staff_code, repo, visit.dealer_code, values, VISIT_STAFF, visit)
    await _check_repeat(repo, visit.dealer_code, visit.ro_number, visit.vin, values.get("repeat_of_ro"))
    await _rewrite_visit(repo, visit, values)
    return visit


async def upsert_visit(repo: CustomerRepository, directory: OrgDirectory, dealer_code: str, ro_number: str,
                       data: ServiceVisitUpsert, if_match: str | None,
                       staff: StaffCheck = require_staff_code) -> tuple[ServiceVisit, bool]:
    """Create or replace a dealer's repair order by its RO number; True when created."""
    dealer = await directory.dealer_for(repo.principal, dealer_code, in_query=True)
    customer = await _customer_of_dealer(repo, data.customer_id, dealer)
    visit = await repo.visit_by_ro(dealer.code, ro_number)
    _matches(if_match, visit, "repair order of this dealer with this number")
    await _check_staff(staff, repo, dealer.code, data.model_dump(), VISIT_STAFF, visit)
    await _check_repeat(repo, dealer.code, ro_number, data.vin, data.repeat_of_ro)
    if visit is None:
        return await _insert_visit(repo, dealer, customer, ro_number, data.model_dump()), True
    values = data.model_dump()
    if (values["vin"], values["customer_id"]) != (visit.vin, visit.customer_id):
        values["owner_verified"] = await repo.is_owner_on_record(data.vin, dealer.code, customer.phone)
        await _vehicle_on_file(repo, dealer, data.vin, customer)
    await _rewrite_visit(repo, visit, values)
    return visit, False


async def _rewrite_visit(repo: CustomerRepository, visit: ServiceVisit, values: dict[str, Any]) -> None:
    """A visit's first close publishes service_visit.closed; any later change publishes
    service_visit.updated, never a second close (no second invitation, no second follow-up).
    So a closed visit stays closed: its closed_at may be corrected, not removed."""
    was_closed = visit.closed_at is not None
    if was_closed and "closed_at" in values and values["closed_at"] is None:
        raise UnprocessableContent("A closed visit stays closed; correct closed_at instead of removing it",
                                   errors=[{"field": "closed_at", "message": "cannot be removed from a closed visit"}])
    appointment = await appointments.for_visit(repo, visit.dealer_code, values.get("customer_id", visit.customer_id),
                                               values.get("appointment_id"))
    if not _assign(visit, values):
        return
    _check_times(visit)
    await repo.flush()
    await appointments.visit_came(repo, appointment)
    if was_closed:
        await repo.publish(events.service_visit_updated(visit, await _model_of(repo, visit)))
    elif visit.closed_at is not None:
        await repo.publish(events.service_visit_closed(visit, await _model_of(repo, visit)))
