"""The events the survey service consumes. `shared.consumer` applies each event id once; the
invitation's `source_key` (event type + business id) also makes a re-published fact
(a new event id for the same visit) schedule one invitation only.

- customer.created / customer.updated -> the local survey-consent record; the customer record's
  version each event reports decides which is the latest, whatever order they arrive in
- customer.erased -> consent gone, customer unlinked from invitations and responses, free text blanked
- vehicle.delivered -> SSI invitation due `ssi_delay_days` later, naming the sales consultant
- service_visit.closed -> CSI invitation due `csi_delay_days` later (visit types in settings), naming the
  repair order's advisor and technician
- complaint.resolved -> the short resolution survey, due `resolution_delay_days` later

A relay's batch is applied together (`batch_handler`): each run of consecutive
customer.created / customer.updated events is one set-based upsert of the consent records
(a 100,000-customer import is 500 batches, not 100,000 transactions); the other events are
applied one by one between those runs, in delivery order, so each event finds the consent
records as the events before it left them, and an erasure is never undone by a change that
preceded it.
"""

import uuid
from datetime import datetime, timedelta

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from services.survey import invitations, surveys
from services.survey.models import CustomerConsent
from services.survey.repository import SurveyRepository
from services.survey.settings import SurveySettings
from shared.auth import system_principal
from shared.consumer import BatchHandler, EventHandler
from shared.contracts import complaint as complaint_contract
from shared.contracts import customer as contract
from shared.contracts.survey import StaffOnRecord
from shared.db import utcnow
from shared.events import CloudEvent


def _repo(session: AsyncSession) -> SurveyRepository:
    return SurveyRepository(session, system_principal())


def _newer(version: int | None, than: int | None) -> bool:
    """Whether a customer event reporting `version` comes after one that reported `than`; an
    event without a version (an older producer) is taken as the latest."""
    return version is None or than is None or version >= than


async def on_customer_changed(session: AsyncSession, event: CloudEvent) -> None:
    data = contract.CustomerChanged.model_validate(event.data)
    repo = _repo(session)
    consent = await repo.consent(data.customer_id)
    if consent is None:
        await repo.add(CustomerConsent(customer_id=data.customer_id, dealer_code=data.dealer_code,
                                       org_path=data.org_path, survey=data.consent.survey, erased=False,
                                       customer_version=data.version))
    elif not consent.erased and _newer(data.version, consent.customer_version):
        consent.survey = data.consent.survey
        consent.customer_version = consent.customer_version if data.version is None else data.version
        consent.updated_at = utcnow()
    await repo.flush()


CHANGED_TYPES = frozenset({contract.CUSTOMER_CREATED, contract.CUSTOMER_UPDATED})
_CHANGES = TypeAdapter(list[contract.CustomerChanged]).validate_python


async def on_customers_changed(session: AsyncSession, events: list[CloudEvent]) -> None:
    """What `on_customer_changed` does for each event in turn, in one statement: a customer named
    twice keeps the latest event's consent (the highest version, else the later in delivery
    order), a new customer gets a record, an erased customer's record stays as it is."""
    latest: dict[uuid.UUID, contract.CustomerChanged] = {}
    for data in _CHANGES([event.data for event in events]):
        seen = latest.get(data.customer_id)
        if seen is None or _newer(data.version, seen.version):
            latest[data.customer_id] = data
    await _repo(session).apply_consents(list(latest.values()))


async def on_customer_erased(session: AsyncSession, event: CloudEvent) -> None:
    data = contract.CustomerErased.model_validate(event.data)
    repo = _repo(session)
    consent = await repo.consent(data.customer_id)
    if consent is None:
        consent = CustomerConsent(customer_id=data.customer_id, dealer_code=data.dealer_code, org_path=data.org_path)
        await repo.add(consent)
    consent.survey, consent.erased = False, True
    for response in await repo.erase_customer(data.customer_id):
        # Scores stay for the KPIs; what the customer typed may name them, so it goes.
        response.answers = {code: ("" if isinstance(value, str) else value) for code, value in response.answers.items()}
        response.submitted = {}
        # The integrity hashes single out the person's device, address and words: they go too (the
        # flags they raised stay with the response).
        response.client_hash = response.device_hash = response.text_hash = None
    await repo.flush()


def event_handlers(settings: SurveySettings) -> dict[str, EventHandler]:
    async def on_vehicle_delivered(session: AsyncSession, event: CloudEvent) -> None:
        data = contract.VehicleDelivered.model_validate(event.data)
        await _invite(session, settings, "ssi", f"vehicle.delivered:{data.delivery_id}",
                      data.delivered_at + timedelta(days=settings.ssi_delay_days), data.dealer_code, data.org_path,
                      data.customer_id, vin=data.vin,
                      served_by=StaffOnRecord(sales_consultant=data.sales_consultant))

    async def on_visit_closed(session: AsyncSession, event: CloudEvent) -> None:
        data = contract.ServiceVisitClosed.model_validate(event.data)
        if data.visit_type not in settings.csi_visit_types:
            return
        await _invite(session, settings, "csi", f"service_visit.closed:{data.visit_id}",
                      data.closed_at + timedelta(days=settings.csi_delay_days), data.dealer_code, data.org_path,
                      data.customer_id, vin=data.vin, ro_number=data.ro_number,
                      served_by=StaffOnRecord(advisor=data.advisor, technician=data.technician),
                      vehicle_model=data.model, symptom_codes=data.symptom_codes)

    async def on_complaint_resolved(session: AsyncSession, event: CloudEvent) -> None:
        data = complaint_contract.Resolved.model_validate(event.data)
        if data.customer_id is None:
            return
        resolved_at = data.resolved_at or event.time
        await _invite(session, settings, "resolution", f"complaint.resolved:{data.complaint_id}",
                      resolved_at + timedelta(days=settings.resolution_delay_days), data.dealer_code, data.org_path,
                      data.customer_id, vin=data.vin)

    return {
        contract.CUSTOMER_CREATED: on_customer_changed,
        contract.CUSTOMER_UPDATED: on_customer_changed,
        contract.CUSTOMER_ERASED: on_customer_erased,
        contract.VEHICLE_DELIVERED: on_vehicle_delivered,
        contract.SERVICE_VISIT_CLOSED: on_visit_closed,
        complaint_contract.RESOLVED: on_complaint_resolved,
    }


def batch_handler(handlers: dict[str, EventHandler]) -> BatchHandler:
    """A relay's new events in one transaction (see the module's doc)."""
    async def apply_events(session: AsyncSession, events: list[CloudEvent]) -> None:
        run: list[CloudEvent] = []
        for event in events:
            if event.type in CHANGED_TYPES:
                run.append(event)
                continue
            await on_customers_changed(session, run)
            run = []
            await handlers[event.type](session, event)
        await on_customers_changed(session, run)

    return apply_events


async def _invite(session: AsyncSession, settings: SurveySettings, template: str, source_key: str, due_at: datetime,
                  dealer_code: str, org_path: str, customer_id: uuid.UUID, *, vin: str | None = None,
                  ro_number: str | None = None, served_by: StaffOnRecord | None = None,
                  vehicle_model: str | None = None, symptom_codes: list[str] | None = None) -> None:
    if due_at < utcnow() - timedelta(days=settings.late_invitation_days):
        # A DMS back-filling last year's deliveries or repair orders: a survey about a visit
        # that long ago measures memory, not the visit, and would only annoy the customer.
        return
    repo = _repo(session)
    survey = await surveys.standard_survey(repo, org_path, template)
    await invitations.schedule(repo, survey, source_key=source_key, due_at=due_at, dealer_code=dealer_code,
                               org_path=org_path, customer_id=customer_id, channel=settings.default_channel,
                               vin=vin, ro_number=ro_number, served_by=served_by, vehicle_model=vehicle_model,
                               symptom_codes=symptom_codes)
