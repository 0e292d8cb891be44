"""What the customer service publishes: CloudEvents written to the outbox in the caller's transaction."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.customer.models import TABLES, Customer, Delivery, FollowUp, Prospect, ServiceVisit, Vehicle
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.events import new_event
from shared.outbox import record_event


async def publish(session: AsyncSession, type_: str, subject: str, payload: contract._Payload) -> None:
    event = new_event(contract.SOURCE, type_, subject, payload.model_dump(mode="json"))
    await record_event(session, TABLES.outbox, event)


def customer_changed(customer: Customer) -> contract.CustomerChanged:
    return contract.CustomerChanged(
        dealer_code=customer.dealer_code, org_path=customer.org_path, customer_id=customer.id,
        external_id=customer.external_id, consent=contract.Consent(
            survey=customer.consent_survey, marketing=customer.consent_marketing,
            share_with_manufacturer=customer.consent_share_with_manufacturer,
        ),
    )


async def customer_created(session: AsyncSession, customer: Customer) -> None:
    await publish(session, contract.CUSTOMER_CREATED, f"customers/{customer.id}", customer_changed(customer))


async def customer_updated(session: AsyncSession, customer: Customer) -> None:
    await publish(session, contract.CUSTOMER_UPDATED, f"customers/{customer.id}", customer_changed(customer))


async def customer_erased(session: AsyncSession, customer: Customer) -> None:
    payload = contract.CustomerErased(dealer_code=customer.dealer_code, org_path=customer.org_path,
                                      customer_id=customer.id, erased_at=customer.erased_at or utcnow())
    await publish(session, contract.CUSTOMER_ERASED, f"customers/{customer.id}", payload)


def delivered(delivery: Delivery, vehicle: Vehicle | None = None) -> contract.VehicleDelivered:
    return contract.VehicleDelivered(
        dealer_code=delivery.dealer_code, org_path=delivery.org_path, delivery_id=delivery.id, vin=delivery.vin,
        customer_id=delivery.customer_id, delivered_at=delivery.delivered_at,
        sales_consultant=delivery.sales_consultant, model=vehicle.model if vehicle else None,
        model_year=vehicle.model_year if vehicle else None,
    )


async def vehicle_delivered(session: AsyncSession, delivery: Delivery, vehicle: Vehicle) -> None:
    await publish(session, contract.VEHICLE_DELIVERED, f"vehicles/{delivery.vin}", delivered(delivery, vehicle))


def visit_closed(visit: ServiceVisit) -> contract.ServiceVisitClosed:
    assert visit.closed_at is not None
    return contract.ServiceVisitClosed(
        dealer_code=visit.dealer_code, org_path=visit.org_path, visit_id=visit.id, ro_number=visit.ro_number,
        vin=visit.vin, customer_id=visit.customer_id, visit_type=visit.visit_type,  # type: ignore[arg-type]
        opened_at=visit.opened_at, closed_at=visit.closed_at, symptom_codes=visit.symptom_codes,
        op_codes=visit.op_codes, mileage_km=visit.mileage_km, amount_minor=visit.amount_minor, advisor=visit.advisor,
        owner_verified=visit.owner_verified,
    )


async def service_visit_closed(session: AsyncSession, visit: ServiceVisit) -> None:
    await publish(session, contract.SERVICE_VISIT_CLOSED, f"service-visits/{visit.id}", visit_closed(visit))


async def prospect_changed(session: AsyncSession, prospect: Prospect, *, created: bool) -> None:
    payload = contract.ProspectChanged(
        dealer_code=prospect.dealer_code, org_path=prospect.org_path, prospect_id=prospect.id,
        level=prospect.level, intended_model=prospect.intended_model, source=prospect.source,  # type: ignore[arg-type]
        changed_at=prospect.updated_at,
    )
    type_ = contract.PROSPECT_CREATED if created else contract.PROSPECT_UPDATED
    await publish(session, type_, f"prospects/{prospect.id}", payload)


async def followup_scheduled(session: AsyncSession, followup_id: uuid.UUID, task: dict[str, Any]) -> None:
    payload = contract.FollowUpScheduled(
        dealer_code=task["dealer_code"], org_path=task["org_path"], followup_id=followup_id, kind=task["kind"],
        customer_id=task.get("customer_id"), prospect_id=task.get("prospect_id"), due_at=task["due_at"],
    )
    await publish(session, contract.FOLLOWUP_SCHEDULED, f"follow-ups/{followup_id}", payload)


async def followup_completed(session: AsyncSession, followup: FollowUp) -> None:
    assert followup.completed_at is not None and followup.outcome is not None
    payload = contract.FollowUpCompleted(
        dealer_code=followup.dealer_code, org_path=followup.org_path, followup_id=followup.id,
        kind=followup.kind, customer_id=followup.customer_id, prospect_id=followup.prospect_id,  # type: ignore[arg-type]
        vin=followup.vin, ro_number=followup.ro_number, outcome=followup.outcome, completed_at=followup.completed_at,
    )
    await publish(session, contract.FOLLOWUP_COMPLETED, f"follow-ups/{followup.id}", payload)
