"""Payloads of the events the customer service publishes (CloudEvents `data`).

Survey, complaint and KPI services consume these; each payload names the owning dealer and
its org path so a consumer can scope what it stores without asking the gateway.
"""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

SOURCE = "/csloop/customer"

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_ERASED = "customer.erased"
VEHICLE_DELIVERED = "vehicle.delivered"
SERVICE_VISIT_CLOSED = "service_visit.closed"
SERVICE_VISIT_UPDATED = "service_visit.updated"
PROSPECT_CREATED = "prospect.created"
PROSPECT_UPDATED = "prospect.updated"
FOLLOWUP_SCHEDULED = "followup.scheduled"
FOLLOWUP_COMPLETED = "followup.completed"
FOLLOWUP_ASSIGNED = "followup.assigned"
FOLLOWUP_UNREACHABLE = "followup.unreachable"
FOLLOWUP_ISSUE_FOUND = "followup.issue_found"
FOLLOWUP_CANCELLED = "followup.cancelled"
INTERACTION_LOGGED = "interaction.logged"
APPOINTMENT_CHANGED = "appointment.changed"
STAFF_CHANGED = "staff.changed"
CAMPAIGN_MESSAGE = "campaign.message"
LIFECYCLE_CHANGED = "lifecycle.changed"

VisitType = Literal["maintenance", "repair", "warranty", "recall"]
RepeatCause = Literal["diagnosis", "parts", "workmanship", "product", "other"]
ProspectLevel = Literal["H", "A", "B", "C"]
# `bulletin`: a dealer's manager reminded of an unacknowledged bulletin (no customer).
FollowUpKind = Literal["new_car", "service", "birthday", "prospect", "win_back", "holiday", "recall", "bulletin"]
# The kinds that are calls whose answer is measured (KPI.md followup_contact_rate and
# followup_dissatisfied_rate); greetings (birthday, holiday) are not.
CALL_KINDS = frozenset({"new_car", "service", "prospect", "win_back", "recall"})
FollowUpStatus = Literal["open", "done", "unreachable", "cancelled"]
Satisfaction = Literal["satisfied", "neutral", "dissatisfied"]
AttemptChannel = Literal["phone", "sms", "wechat", "visit"]
AppointmentStatus = Literal["booked", "arrived", "no_show", "cancelled"]
# DOMAIN.md "Retention and value" (services/customer/lifecycle.py holds the rules).
Lifecycle = Literal["prospect", "active", "at_risk", "lapsed", "won_back"]
StaffRole = Literal["service_advisor", "sales_consultant", "technician", "cr_agent", "manager"]
InteractionChannel = Literal["phone", "sms", "wechat", "email", "walk_in", "app"]
InteractionDirection = Literal["inbound", "outbound"]
InteractionReason = Literal["inquiry", "complaint", "appointment", "follow_up", "care", "other"]
CampaignKind = Literal["care", "service", "win_back", "holiday", "recall"]
CampaignChannel = Literal["sms", "wechat", "email", "app"]


class _Payload(BaseModel):
    # Consumers ignore fields added later, so a producer may grow a payload freely.
    model_config = ConfigDict(extra="ignore")

    dealer_code: str
    org_path: str


class Consent(BaseModel):
    survey: bool = False
    marketing: bool = False
    share_with_manufacturer: bool = False


class CustomerChanged(_Payload):
    """customer.created / customer.updated: who the customer is to the network and what they consented to.

    No name, phone or email: events are relayed to every subscribed service and webhook, and
    each copy of personal data would have to be found again on erasure. A service that needs
    to contact the customer reads the contact details from the customer service when it does.
    """

    customer_id: uuid.UUID
    external_id: str | None = None
    consent: Consent
    # The customer record's version this event reports (its ETag): a consumer keeps the highest,
    # so a change delivered late never undoes a newer one. None from producers before it.
    version: int | None = None


class SurveyConsentRecord(_Payload):
    """A customer's survey consent as the customer service holds it now (`GET
    /internal/customers/{id}/survey-consent`): what `customer.created` will tell the survey
    service, read directly when a caller names the customer before that event has arrived."""

    customer_id: uuid.UUID
    survey: bool
    erased: bool


class CustomerErased(_Payload):
    """customer.erased: every service anonymises what it holds about this customer."""

    customer_id: uuid.UUID
    erased_at: datetime


class StaffChanged(_Payload):
    """staff.changed: a staff member was created or changed (name, role, retired). The KPI service
    names people in its scorecards from it; `version` orders changes that arrive out of order."""

    staff_id: uuid.UUID
    code: str
    name: str
    role: StaffRole
    active: bool
    version: int


class VehicleDelivered(_Payload):
    delivery_id: uuid.UUID
    vin: str
    customer_id: uuid.UUID
    delivered_at: datetime
    sales_consultant: str | None = None
    model: str | None = None
    model_year: int | None = None


class ServiceVisitClosed(_Payload):
    visit_id: uuid.UUID
    ro_number: str
    vin: str
    customer_id: uuid.UUID
    visit_type: VisitType
    opened_at: datetime | None = None
    closed_at: datetime
    symptom_codes: list[str] = []
    op_codes: list[str] = []
    mileage_km: int | None = None
    amount_minor: int | None = None
    advisor: str | None = None
    technician: str | None = None
    appointment_id: uuid.UUID | None = None
    # The visit's customer is the VIN's owner on the selling dealer's file (or has the owner's
    # phone): only then may a repeat here fail another dealer's first-time fix. Absent from
    # payloads older than the field: those visits counted, and still do.
    owner_verified: bool = True
    # The vehicle's model (EDER groups quality evidence by model and symptom). A repeat visit names
    # the RO whose fix failed, resolved among the VIN's visits at any dealer, and why it failed.
    model: str | None = None
    repeat_of_ro: str | None = None
    repeat_cause: RepeatCause | None = None


class ProspectChanged(_Payload):
    """prospect.created / prospect.updated."""

    prospect_id: uuid.UUID
    level: ProspectLevel
    intended_model: str | None = None
    source: str | None = None
    changed_at: datetime


class _FollowUpPayload(_Payload):
    """What every follow-up event names: the task, its kind, and whom it is about."""

    followup_id: uuid.UUID
    kind: FollowUpKind
    customer_id: uuid.UUID | None = None
    prospect_id: uuid.UUID | None = None


class FollowUpScheduled(_FollowUpPayload):
    """followup.scheduled: a task exists and is due at `due_at` (sent again when its due time moves)."""

    due_at: datetime


class FollowUpCompleted(_FollowUpPayload):
    """followup.completed: the task is done, by a reached attempt (with its result) or by the
    legacy `/complete` (an outcome text; it counts as reached, KPI.md)."""

    vin: str | None = None
    ro_number: str | None = None
    outcome: str
    completed_at: datetime
    due_at: datetime | None = None
    assignee: str | None = None
    attempts: int = 0
    reached: bool = True
    satisfaction: Satisfaction | None = None
    issue_codes: list[str] = []


class FollowUpAssigned(_FollowUpPayload):
    """followup.assigned: the task is now on `assignee`'s call list (a staff code of the dealer)."""

    due_at: datetime
    assignee: str
    assigned_at: datetime


class FollowUpUnreachable(_FollowUpPayload):
    """followup.unreachable: `attempts` calls (the task's max_attempts) reached nobody; the task is
    closed as unreachable, so that an SMS or a letter can go instead."""

    vin: str | None = None
    due_at: datetime
    assignee: str | None = None
    attempts: int
    unreachable_at: datetime


class FollowUpIssueFound(_FollowUpPayload):
    """followup.issue_found: a reached customer was dissatisfied. The complaint service opens one
    case for it (channel follow_up, linked by followup_id), however often this is delivered.
    `note` is the agent's account of the issue (the case's description), no contact data."""

    vin: str | None = None
    ro_number: str | None = None
    issue_codes: list[str] = []
    note: str | None = None
    agent: str | None = None
    found_at: datetime
    # The vehicle model and the symptom codes of the visit the call followed (EDER: a `not_fixed`
    # issue is quality evidence for that model and symptom); absent when the call followed no visit.
    model: str | None = None
    symptom_codes: list[str] = []


class FollowUpCancelled(_FollowUpPayload):
    """followup.cancelled: an open task will not be worked (its customer was erased); it leaves
    every follow-up figure (KPI.md) instead of counting as open past its due time."""

    due_at: datetime
    cancelled_at: datetime


class AppointmentChanged(_Payload):
    """appointment.changed: an appointment was booked or moved to another status."""

    appointment_id: uuid.UUID
    customer_id: uuid.UUID
    vin: str | None = None
    status: AppointmentStatus
    requested_at: datetime
    slot_at: datetime
    service_type: str | None = None
    advisor: str | None = None
    booked_at: datetime
    changed_at: datetime


class InteractionLogged(_Payload):
    """interaction.logged: a contact with a customer or prospect was recorded. No phone and no
    summary (free text about the person): read them from `GET /v1/interactions/{id}`."""

    interaction_id: uuid.UUID
    customer_id: uuid.UUID | None = None
    prospect_id: uuid.UUID | None = None
    channel: InteractionChannel
    direction: InteractionDirection
    reason: InteractionReason
    agent: str | None = None
    started_at: datetime
    duration_s: int | None = None


class CampaignMessage(_Payload):
    """campaign.message: one care-campaign message to send to one customer, on `channel`, in the
    customer's dealer's name (`dealer_code`, `org_path`). Published once per customer of the sent
    group when the campaign is launched, never again for that campaign and customer.

    No name, phone or e-mail (events carry ids, API.md): the sender (the dealer's DMS, an SMS
    gateway) reads the contact from `GET /v1/customers/{customer_id}` with its own key, where
    `pii:read` and the consent to share decide what it sees. Only the campaign's owner
    (`campaign_org_path`) receives it as a webhook, so a message is sent by one system only."""

    campaign_id: uuid.UUID
    campaign_org_code: str
    campaign_org_path: str
    customer_id: uuid.UUID
    kind: CampaignKind
    channel: CampaignChannel
    # {"zh-CN": ..., "en": ...}: the languages the campaign was written in.
    message: dict[str, str]
    launched_at: datetime


class LifecycleChanged(_Payload):
    """lifecycle.changed: a customer's lifecycle moved (a visit, or time passing: the daily job).
    Published only on a change; a customer with no row yet counts as `prospect`. No contact data."""

    customer_id: uuid.UUID
    lifecycle: Lifecycle
    previous: Lifecycle
    # When the new lifecycle began by the rules (e.g. 12 months after the last visit for lapsed),
    # which may be before the change was noticed (`changed_at`).
    since: datetime
    last_visit_at: datetime | None = None
    changed_at: datetime
