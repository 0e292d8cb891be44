"""What the customer service publishes: the CloudEvents its use cases hand to `repo.publish`,
which records them in the outbox in the caller's transaction."""

import uuid
from datetime import datetime
from typing import Any

from services.customer.models import (
    Appointment, Campaign, Customer, Delivery, FollowUp, FollowUpAttempt, Interaction, Prospect, ServiceVisit, Vehicle,
)
from shared.contracts import customer as contract
from shared.db import utcnow
from shared.events import CloudEvent, new_event


def _event(type_: str, subject: str, payload: contract._Payload) -> CloudEvent:
    return new_event(contract.SOURCE, type_, subject, payload.model_dump(mode="json"))


def customer_changed(customer: Customer) -> contract.CustomerChanged:
    return contract.CustomerChanged(
        dealer_code=customer.dealer_code, org_path=customer.org_path, customer_id=customer.id,
        external_id=customer.external_id, consent=contract.Consent(
            survey=customer.consent_survey, marketing=customer.consent_marketing,
            share_with_manufacturer=customer.consent_share_with_manufacturer,
        ),
        version=customer.version,
    )


def customer_created(customer: Customer) -> CloudEvent:
    return _event(contract.CUSTOMER_CREATED, f"customers/{customer.id}", customer_changed(customer))


def customer_updated(customer: Customer) -> CloudEvent:
    return _event(contract.CUSTOMER_UPDATED, f"customers/{customer.id}", customer_changed(customer))


def customer_erased(customer: Customer) -> CloudEvent:
    payload = contract.CustomerErased(dealer_code=customer.dealer_code, org_path=customer.org_path,
                                      customer_id=customer.id, erased_at=customer.erased_at or utcnow())
    return _event(contract.CUSTOMER_ERASED, f"customers/{customer.id}", payload)


def delivered(delivery: Delivery, vehicle: Vehicle | None = None) -> contract.VehicleDelivered:
    return contract.VehicleDelivered(
        dealer_code=delivery.dealer_code, org_path=delivery.org_path, delivery_id=delivery.id, vin=delivery.vin,
        customer_id=delivery.customer_id, delivered_at=delivery.delivered_at,
        sales_consultant=delivery.sales_consultant, model=vehicle.model if vehicle else None,
        model_year=vehicle.model_year if vehicle else None,
    )


def vehicle_delivered(delivery: Delivery, vehicle: Vehicle) -> CloudEvent:
    return _event(contract.VEHICLE_DELIVERED, f"vehicles/{delivery.vin}", delivered(delivery, vehicle))


def visit_closed(visit: ServiceVisit, model: str | None = None) -> contract.ServiceVisitClosed:
    """The payload of a closed visit; `model`: its vehicle's (the KPI rebuild's facts leave it out)."""
    assert visit.closed_at is not None
    return contract.ServiceVisitClosed(
        dealer_code=visit.dealer_code, org_path=visit.org_path, visit_id=visit.id, ro_number=visit.ro_number,
        vin=visit.vin, customer_id=visit.customer_id, visit_type=visit.visit_type,  # type: ignore[arg-type]
        opened_at=visit.opened_at, closed_at=visit.closed_at, symptom_codes=visit.symptom_codes,
        op_codes=visit.op_codes, mileage_km=visit.mileage_km, amount_minor=visit.amount_minor, advisor=visit.advisor,
        technician=visit.technician, owner_verified=visit.owner_verified, appointment_id=visit.appointment_id,
        model=model, repeat_of_ro=visit.repeat_of_ro, repeat_cause=visit.repeat_cause,  # type: ignore[arg-type]
    )


def service_visit_closed(visit: ServiceVisit, model: str | None) -> CloudEvent:
    return _event(contract.SERVICE_VISIT_CLOSED, f"service-visits/{visit.id}", visit_closed(visit, model))


def service_visit_updated(visit: ServiceVisit, model: str | None) -> CloudEvent:
    """A closed visit corrected: the same facts as service_visit.closed, under a type no consumer
    takes for a new close (so no second survey invitation, no second follow-up)."""
    return _event(contract.SERVICE_VISIT_UPDATED, f"service-visits/{visit.id}", visit_closed(visit, model))


def prospect_changed(prospect: Prospect, *, created: bool) -> CloudEvent:
    payload = contract.ProspectChanged(
        dealer_code=prospect.dealer_code, org_path=prospect.org_path, prospect_id=prospect.id,
        level=prospect.level, intended_model=prospect.intended_model, source=prospect.source,  # type: ignore[arg-type]
        changed_at=prospect.updated_at,
    )
    type_ = contract.PROSPECT_CREATED if created else contract.PROSPECT_UPDATED
    return _event(type_, f"prospects/{prospect.id}", payload)


def followup_scheduled(followup_id: uuid.UUID, task: dict[str, Any]) -> CloudEvent:
    payload = contract.FollowUpScheduled(
        dealer_code=task["dealer_code"], org_path=task["org_path"], followup_id=followup_id, kind=task["kind"],
        customer_id=task.get("customer_id"), prospect_id=task.get("prospect_id"), due_at=task["due_at"],
    )
    return _event(contract.FOLLOWUP_SCHEDULED, f"follow-ups/{followup_id}", payload)


def followup_completed(followup: FollowUp) -> CloudEvent:
    """Done by a reached attempt (with its result) or the legacy /complete (reached, no satisfaction)."""
    assert followup.completed_at is not None and followup.outcome is not None
    payload = contract.FollowUpCompleted(
        dealer_code=followup.dealer_code, org_path=followup.org_path, followup_id=followup.id,
        kind=followup.kind, customer_id=followup.customer_id, prospect_id=followup.prospect_id,  # type: ignore[arg-type]
        vin=followup.vin, ro_number=followup.ro_number, outcome=followup.outcome, completed_at=followup.completed_at,
        due_at=followup.due_at, assignee=followup.assignee, attempts=followup.attempts, reached=True,
        satisfaction=followup.satisfaction, issue_codes=followup.issue_codes or [],  # type: ignore[arg-type]
    )
    return _event(contract.FOLLOWUP_COMPLETED, f"follow-ups/{followup.id}", payload)


def followup_assigned(followup_id: uuid.UUID, task: dict[str, Any], assigned_at: datetime) -> CloudEvent:
    """`task`: the follow-up's kind, dealer_code, org_path, customer_id, prospect_id, due_at and assignee."""
    payload = contract.FollowUpAssigned(
        dealer_code=task["dealer_code"], org_path=task["org_path"], followup_id=followup_id, kind=task["kind"],
        customer_id=task.get("customer_id"), prospect_id=task.get("prospect_id"), due_at=task["due_at"],
        assignee=task["assignee"], assigned_at=assigned_at,
    )
    return _event(contract.FOLLOWUP_ASSIGNED, f"follow-ups/{followup_id}", payload)


def followup_cancelled(followup: FollowUp, cancelled_at: datetime) -> CloudEvent:
    payload = contract.FollowUpCancelled(
        dealer_code=followup.dealer_code, org_path=followup.org_path, followup_id=followup.id,
        kind=followup.kind, customer_id=followup.customer_id, prospect_id=followup.prospect_id,  # type: ignore[arg-type]
        due_at=followup.due_at, cancelled_at=cancelled_at,
    )
    return _event(contract.FOLLOWUP_CANCELLED, f"follow-ups/{followup.id}", payload)


def followup_unreachable(followup: FollowUp) -> CloudEvent:
    assert followup.completed_at is not None
    payload = contract.FollowUpUnreachable(
        dealer_code=followup.dealer_code, org_path=followup.org_path, followup_id=followup.id,
        kind=followup.kind, customer_id=followup.customer_id, prospect_id=followup.prospect_id,  # type: ignore[arg-type]
        vin=followup.vin, due_at=followup.due_at, assignee=followup.assignee, attempts=followup.attempts,
        unreachable_at=followup.completed_at,
    )
    return _event(contract.FOLLOWUP_UNREACHABLE, f"follow-ups/{followup.id}", payload)


def followup_issue_found(followup: FollowUp, attempt: FollowUpAttempt, model: str | None,
                         visit: ServiceVisit | None) -> CloudEvent:
    """`model` and `visit`: the vehicle's model and the visit the call followed (EDER evidence)."""
    payload = contract.FollowUpIssueFound(
        dealer_code=followup.dealer_code, org_path=followup.org_path, followup_id=followup.id,
        kind=followup.kind, customer_id=followup.customer_id, prospect_id=followup.prospect_id,  # type: ignore[arg-type]
        vin=followup.vin, ro_number=followup.ro_number, issue_codes=attempt.issue_codes or [], note=attempt.note,
        agent=attempt.agent, found_at=attempt.attempted_at, model=model,
        symptom_codes=visit.symptom_codes if visit else [],
    )
    return _event(contract.FOLLOWUP_ISSUE_FOUND, f"follow-ups/{followup.id}", payload)


def interaction_logged(interaction: Interaction) -> CloudEvent:
    payload = contract.InteractionLogged(
        dealer_code=interaction.dealer_code, org_path=interaction.org_path, interaction_id=interaction.id,
        customer_id=interaction.customer_id, prospect_id=interaction.prospect_id,
        channel=interaction.channel, direction=interaction.direction, reason=interaction.reason,  # type: ignore[arg-type]
        agent=interaction.agent, started_at=interaction.started_at, duration_s=interaction.duration_s,
    )
    return _event(contract.INTERACTION_LOGGED, f"interactions/{interaction.id}", payload)


def appointment_state(appointment: Appointment) -> contract.AppointmentChanged:
    """Booked (status booked, also when moved to another slot) or a status change; `changed_at`
    orders them, `booked_at` is the creation time the lead-time KPI counts by."""
    return contract.AppointmentChanged(
        dealer_code=appointment.dealer_code, org_path=appointment.org_path, appointment_id=appointment.id,
        customer_id=appointment.customer_id, vin=appointment.vin, status=appointment.status,  # type: ignore[arg-type]
        requested_at=appointment.requested_at, slot_at=appointment.slot_at, service_type=appointment.service_type,
        advisor=appointment.advisor, booked_at=appointment.created_at, changed_at=appointment.updated_at,
    )


def appointment_changed(appointment: Appointment) -> CloudEvent:
    return _event(contract.APPOINTMENT_CHANGED, f"appointments/{appointment.id}", appointment_state(appointment))


def campaign_message(campaign: Campaign, customer_id: uuid.UUID, dealer_code: str, org_path: str,
                     launched_at: datetime) -> CloudEvent:
    """One sent customer's message; in the customer's dealer's subtree, for the campaign owner to send."""
    payload = contract.CampaignMessage(
        dealer_code=dealer_code, org_path=org_path, campaign_id=campaign.id, campaign_org_code=campaign.org_code,
        campaign_org_path=campaign.org_path, customer_id=customer_id, kind=campaign.kind,  # type: ignore[arg-type]
        channel=campaign.channel, message=campaign.message, launched_at=launched_at,  # type: ignore[arg-type]
    )
    return _event(contract.CAMPAIGN_MESSAGE, f"campaigns/{campaign.id}/customers/{customer_id}", payload)


def lifecycle_changed(change: Any, changed_at: datetime) -> CloudEvent:
    """`change`: a staged standing row with the stored lifecycle as `previous` (repository_standing.changes)."""
    payload = contract.LifecycleChanged(
        dealer_code=change.dealer_code, org_path=change.org_path, customer_id=change.customer_id,
        lifecycle=change.lifecycle, previous=change.previous, since=change.lifecycle_since,
        last_visit_at=change.last_visit_at, changed_at=changed_at,
    )
    return _event(contract.LIFECYCLE_CHANGED, f"customers/{change.customer_id}", payload)
