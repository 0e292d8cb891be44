"""Request and response models of the customer service's own API.

Every request model forbids unknown fields, so a typo is a 422 instead of silently ignored.
"""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.customer import (
    AppointmentStatus, AttemptChannel, Consent, FollowUpKind, FollowUpStatus, InteractionChannel, InteractionDirection,
    InteractionReason, Lifecycle, ProspectLevel, RepeatCause, Satisfaction, StaffRole, VisitType,
)
from shared.contracts.customer import CampaignChannel, CampaignKind
from services.customer.domain import Email, past_birth_date
from shared.types import VIN, MinorUnits, OrgCode, Phone

Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
# A staff member's code in their dealer (API.md, Staff): printable, as long as the free-text
# names it replaced (migration 0007 made each old name a code).
StaffCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                             pattern=r"^[^\x00-\x1f\x7f]+$")]


BirthDate = Annotated[date, AfterValidator(past_birth_date)]
# Times arrive with any offset and are kept in UTC, so events and responses agree.
UTCTime = Annotated[AwareDatetime, AfterValidator(lambda value: value.astimezone(UTC))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsentIn(_In, Consent):
    pass


class ConsentUpdate(_In):
    survey: bool | None = None
    marketing: bool | None = None
    share_with_manufacturer: bool | None = None


class CustomerCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "external_id": "DMS-10023", "dealer_code": "D001", "name": "Wang Fang", "phone": "+8613800138000",
        "email": "wang.fang@example.com", "city": "Shanghai",
        "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}
    }]})

    external_id: Text100 | None = None
    dealer_code: OrgCode | None = Field(None, description="Defaults to the caller's own dealer")
    name: Name
    phone: Phone | None = None
    email: Email | None = None
    birth_date: BirthDate | None = None
    city: Text100 | None = None
    consent: ConsentIn = Field(default_factory=ConsentIn)


class CustomerUpdate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "city": "Hangzhou", "consent": {"marketing": True}
    }]})

    external_id: Text100 | None = None
    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    birth_date: BirthDate | None = None
    city: Text100 | None = None
    consent: ConsentUpdate | None = None


class CustomerUpsert(_In):
    """The whole customer, for `PUT /v1/customers/by-external-id/{dealer_code}/{external_id}`.

    A replace sets every field to what the body says (left out: cleared), except consent: a
    consent value the body leaves out keeps what is stored (false on create), so a DMS that
    does not know about a consent never withdraws it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "张伟", "phone": "138 1234 5678", "city": "上海", "consent": {"survey": True}}]})

    name: Name
    phone: Phone | None = None
    email: Email | None = None
    birth_date: BirthDate | None = None
    city: Text100 | None = None
    consent: ConsentUpdate = Field(default_factory=ConsentUpdate)


class CustomerTombstone(BaseModel):
    """An erased customer in the `updated_since` feed: delete your copy of this id."""

    id: uuid.UUID
    dealer_code: str
    deleted: Literal[True] = True
    updated_at: datetime


Segment = Literal["champion", "loyal", "new", "at_risk", "hibernating", "regular"]


class CustomerValue(BaseModel):
    """What the customer is worth to the dealer over the last 24 months (services/customer/lifecycle.py):
    days since the last closed visit, visits, spend, the RFM quintiles within the dealer ("545":
    recency, frequency, spend, 5 best; null without a visit in 24 months) and the segment they give."""

    recency_days: int | None
    frequency_24m: int
    monetary_24m_minor: int
    rfm: str | None
    segment: Segment | None


class CustomerRead(BaseModel):
    """Built by privacy.PiiView, the only way a customer leaves the service. `lifecycle` and
    `value` are as the last visit or the daily job left them; above the dealer, null for a
    customer who does not share with the manufacturer."""

    id: uuid.UUID
    external_id: str | None
    dealer_code: str
    org_path: str
    name: str
    phone: str | None
    email: str | None
    birth_date: date | None
    city: str | None
    consent: Consent
    erased: bool
    version: int
    created_at: datetime
    updated_at: datetime
    lifecycle: Lifecycle | None = None
    value: CustomerValue | None = None


class ImportError_(BaseModel):
    row: int
    field: str
    message: str


class ImportResult(BaseModel):
    created: int
    updated: int = Field(description="Rows that matched an existing customer (including unchanged ones)")
    unchanged: int = Field(0, description="Of the updated rows, those that changed nothing (no event)")
    failed: int
    errors: list[ImportError_]


class VehicleCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "vin": "LSVAU21B5N2183294", "model": "Model S", "model_year": 2025, "plate": "沪A12345",
        "owner_customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21"
    }]})

    vin: VIN
    model: Text100 | None = None
    model_year: int | None = Field(None, ge=1950, le=2100)
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None = None
    owner_customer_id: uuid.UUID | None = None
    dealer_code: OrgCode | None = Field(None, description="Defaults to the owner's dealer, else the caller's")


class VehicleUpsert(_In):
    """The dealer's whole file of a VIN, for `PUT /v1/vehicles/by-vin/{dealer_code}/{vin}` (and
    `PUT /v1/vehicles/{vin}`): a replace clears what the body leaves out; `delivered_at` is the
    deliveries' to set and stays."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"model": "Lumen S", "model_year": 2025, "plate": "沪A12345"}]})

    model: Text100 | None = None
    model_year: int | None = Field(None, ge=1950, le=2100)
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None = None
    owner_customer_id: uuid.UUID | None = Field(None, description="A customer of the same dealer")


class VehicleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vin: str
    dealer_code: str
    model: str | None
    model_year: int | None
    plate: str | None
    owner_customer_id: uuid.UUID | None
    delivered_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class DeliveryCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "vin": "LSVAU21B5N2183294", "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21", "dealer_code": "D001",
        "delivered_at": "2026-05-04T10:30:00+08:00", "sales_consultant": "SC01"
    }]})

    vin: VIN
    customer_id: uuid.UUID
    dealer_code: OrgCode
    delivered_at: UTCTime
    sales_consultant: StaffCode | None = Field(None, description="An active staff code of the dealer")


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    vin: str
    customer_id: uuid.UUID
    dealer_code: str
    delivered_at: datetime
    sales_consultant: str | None
    created_at: datetime


class ServiceVisitCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "ro_number": "RO-2026-0001", "vin": "LSVAU21B5N2183294",
        "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21", "dealer_code": "D001", "visit_type": "maintenance",
        "opened_at": "2026-06-01T09:00:00+08:00", "op_codes": ["OIL01"], "mileage_km": 12000,
        "amount_minor": 68000, "advisor": "SA01", "technician": "TE01"
    }]})

    ro_number: Code
    vin: VIN
    customer_id: uuid.UUID
    dealer_code: OrgCode
    visit_type: VisitType
    opened_at: UTCTime | None = None
    closed_at: UTCTime | None = None
    symptom_codes: list[Code] = Field(default_factory=list, max_length=100)
    op_codes: list[Code] = Field(default_factory=list, max_length=100)
    mileage_km: int | None = Field(None, ge=0, le=5_000_000)
    amount_minor: MinorUnits | None = None
    advisor: StaffCode | None = Field(None, description="An active staff code of the dealer")
    technician: StaffCode | None = Field(None, description="An active staff code of the dealer")
    appointment_id: uuid.UUID | None = Field(None, description="The appointment this visit keeps (same dealer and customer)")
    repeat_of_ro: Code | None = Field(None, description="A repeat visit: the RO whose fix failed, one of the same VIN's "
                                                    "visits at any dealer (unknown: 422)")
    repeat_cause: RepeatCause | None = Field(None, description="Why the fix named by repeat_of_ro failed")


class ServiceVisitUpdate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "closed_at": "2026-06-01T16:30:00+08:00"
    }]})

    visit_type: VisitType | None = None
    opened_at: UTCTime | None = None
    closed_at: UTCTime | None = None
    symptom_codes: list[Code] | None = Field(None, max_length=100)
    op_codes: list[Code] | None = Field(None, max_length=100)
    mileage_km: int | None = Field(None, ge=0, le=5_000_000)
    amount_minor: MinorUnits | None = None
    advisor: StaffCode | None = Field(None, description="An active staff code of the dealer")
    technician: StaffCode | None = Field(None, description="An active staff code of the dealer")
    appointment_id: uuid.UUID | None = Field(None, description="The appointment this visit keeps (same dealer and customer)")
    repeat_of_ro: Code | None = Field(None, description="A repeat visit: the RO whose fix failed, one of the same VIN's "
                                                    "visits at any dealer (unknown: 422)")
    repeat_cause: RepeatCause | None = Field(None, description="Why the fix named by repeat_of_ro failed")


class ServiceVisitUpsert(_In):
    """The whole repair order, for `PUT /v1/service-visits/by-ro/{dealer_code}/{ro_number}`: a
    replace clears what the body leaves out, except that a closed visit stays closed (its
    `closed_at` may move, not go). Closing it publishes service_visit.closed once; a change to a
    visit already closed publishes service_visit.updated."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "vin": "LSVAU218XN2183294", "customer_id": "0b7c1a3e-6a55-4a4e-9c55-0f3e0d6f2a11", "visit_type": "repair",
        "opened_at": "2026-11-02T09:00:00+08:00", "closed_at": "2026-11-02T16:30:00+08:00",
        "symptom_codes": ["BRK01"], "op_codes": ["OP100"], "mileage_km": 12000, "advisor": "SA01",
        "technician": "TE01"}]})

    vin: VIN
    customer_id: uuid.UUID
    visit_type: VisitType
    opened_at: UTCTime | None = None
    closed_at: UTCTime | None = None
    symptom_codes: list[Code] = Field(default_factory=list, max_length=100)
    op_codes: list[Code] = Field(default_factory=list, max_length=100)
    mileage_km: int | None = Field(None, ge=0, le=5_000_000)
    amount_minor: MinorUnits | None = None
    advisor: StaffCode | None = Field(None, description="An active staff code of the dealer")
    technician: StaffCode | None = Field(None, description="An active staff code of the dealer")
    appointment_id: uuid.UUID | None = Field(None, description="The appointment this visit keeps (same dealer and customer)")
    repeat_of_ro: Code | None = Field(None, description="A repeat visit: the RO whose fix failed, one of the same VIN's "
                                                    "visits at any dealer (unknown: 422)")
    repeat_cause: RepeatCause | None = Field(None, description="Why the fix named by repeat_of_ro failed")


class ServiceVisitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ro_number: str
    vin: str
    customer_id: uuid.UUID
    dealer_code: str
    visit_type: VisitType
    opened_at: datetime | None
    closed_at: datetime | None
    symptom_codes: list[str]
    op_codes: list[str]
    mileage_km: int | None
    amount_minor: int | None
    advisor: str | None
    technician: str | None
    appointment_id: uuid.UUID | None
    repeat_of_ro: str | None
    repeat_cause: RepeatCause | None
    version: int
    created_at: datetime
    updated_at: datetime


class ProspectCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "name": "Liu Yang", "phone": "+8613900139000", "intended_model": "Model S",
        "level": "A", "source": "showroom"
    }]})

    dealer_code: OrgCode | None = None
    name: Name
    phone: Phone | None = None
    intended_model: Text100 | None = None
    level: ProspectLevel
    source: Code | None = None


class ProspectUpdate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "level": "H"
    }]})

    name: Name | None = None
    phone: Phone | None = None
    intended_model: Text100 | None = None
    level: ProspectLevel | None = None
    source: Code | None = None


class ProspectRead(BaseModel):
    """Built by privacy.PiiView, the only way a prospect leaves the service."""

    id: uuid.UUID
    dealer_code: str
    name: str
    phone: str | None
    intended_model: str | None
    level: ProspectLevel
    source: str | None
    version: int
    created_at: datetime


class FollowUpComplete(_In):
    """The legacy completion: an outcome text. It counts as a reached call (KPI.md)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "outcome": "called", "note": "Booked a test drive on Saturday"
    }]})

    outcome: Text100
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class FollowUpResult(BaseModel):
    """What the task ended with: reached (by an attempt or the legacy /complete) or not."""

    reached: bool
    satisfaction: Satisfaction | None
    issue_codes: list[str]


class FollowUpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: FollowUpKind
    customer_id: uuid.UUID | None
    prospect_id: uuid.UUID | None
    dealer_code: str
    vin: str | None
    ro_number: str | None
    due_at: datetime
    status: FollowUpStatus
    outcome: str | None
    note: str | None
    completed_at: datetime | None
    assignee: str | None = Field(description="The staff code whose call list the task is on")
    attempts: int = Field(description="Attempts recorded so far")
    max_attempts: int = Field(description="Attempts not reaching the customer after which the task is unreachable")
    result: FollowUpResult | None = Field(description="Set once the task is done or unreachable")
    complaint_id: uuid.UUID | None = Field(description="The case a dissatisfied result opened")
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _result_of_row(cls, row: Any) -> Any:
        """A follow-up row keeps the result in three columns; the API shows them as one object."""
        if isinstance(row, dict):
            return row
        values = {name: getattr(row, name) for name in cls.model_fields if name != "result"}
        values["result"] = None if row.reached is None else {
            "reached": row.reached, "satisfaction": row.satisfaction, "issue_codes": row.issue_codes or []}
        return values


# An issue code names what the customer was unhappy about; the complaint service maps the known
# ones (not_fixed, price, attitude, parts, product) to a category and any other to `other`.
IssueCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                             pattern=r"^[a-z][a-z0-9_]*$")]


class FollowUpAssign(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"assignee": "CR01"}]})

    assignee: StaffCode = Field(description="An active staff code of the follow-up's dealer")


class FollowUpAttemptCreate(_In):
    """One call (or SMS, WeChat message, visit) made for a follow-up.

    Reached: `satisfaction` is required on a call (every kind but the birthday and holiday
    greetings); `issue_codes` go only with `dissatisfied`. Not reached: neither is sent."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reached": True, "channel": "phone", "satisfaction": "dissatisfied", "issue_codes": ["not_fixed"],
        "note": "The brake noise came back two days after the repair", "agent": "CR01"
    }]})

    reached: bool
    channel: AttemptChannel
    satisfaction: Satisfaction | None = None
    issue_codes: list[IssueCode] = Field(default_factory=list, max_length=10)
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    agent: StaffCode | None = Field(None, description="The staff code who made it; defaults to the assignee")


class FollowUpAttemptRead(BaseModel):
    """An attempt; above the dealer the note is withheld for a person the caller may not see."""

    id: uuid.UUID
    followup_id: uuid.UUID
    attempted_at: datetime
    reached: bool
    channel: AttemptChannel
    satisfaction: Satisfaction | None
    issue_codes: list[str]
    note: str | None
    agent: str | None
    interaction_id: uuid.UUID | None


class FollowUpAttemptList(BaseModel):
    items: list[FollowUpAttemptRead]


class DeskSettingsWrite(_In):
    """A dealer's desk settings, replaced whole (fields left out take their defaults)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "default_assignees": {"service": "CR01", "new_car": "CR02"}, "maintenance_followups": True, "max_attempts": 3
    }]})

    default_assignees: dict[FollowUpKind, StaffCode] = Field(
        default_factory=dict, description="Follow-up kind -> the active staff code who gets new tasks of that kind")
    maintenance_followups: bool = Field(False, description="Closed maintenance visits get a service follow-up too")
    max_attempts: int = Field(3, ge=1, le=10, description="Attempts not reaching the customer before a new task is unreachable")


class DeskSettingsRead(BaseModel):
    dealer_code: str
    default_assignees: dict[str, str]
    maintenance_followups: bool
    max_attempts: int
    version: int = Field(description="0 while the dealer has not set anything (the defaults apply)")
    updated_at: datetime | None


class InteractionCreate(_In):
    """One contact. It names whom it was with: a customer or a prospect of the dealer, or only
    the phone of a caller not on file (exactly one of the three)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21", "channel": "phone",
        "direction": "inbound", "reason": "appointment", "summary": "Asked for a maintenance slot on Friday",
        "agent": "CR01", "started_at": "2026-06-02T09:15:00+08:00", "duration_s": 240
    }]})

    dealer_code: OrgCode | None = Field(None, description="Defaults to the caller's own dealer")
    customer_id: uuid.UUID | None = None
    prospect_id: uuid.UUID | None = None
    phone: Phone | None = None
    channel: InteractionChannel
    direction: InteractionDirection
    reason: InteractionReason
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    agent: StaffCode | None = Field(None, description="An active staff code of the dealer")
    started_at: UTCTime
    duration_s: int | None = Field(None, ge=0, le=86_400, description="Seconds; at most a day")


class InteractionRead(BaseModel):
    """A contact, built by privacy.PiiView (the phone masked as on every read).

    Above the dealer the summary is withheld for a person the caller may not see: free text names people."""

    id: uuid.UUID
    dealer_code: str
    customer_id: uuid.UUID | None
    prospect_id: uuid.UUID | None
    phone: str | None
    channel: InteractionChannel
    direction: InteractionDirection
    reason: InteractionReason
    summary: str | None
    agent: str | None
    started_at: datetime
    duration_s: int | None
    created_at: datetime
    updated_at: datetime


class OpenComplaint(BaseModel):
    """An open complaint case of the customer, as the complaint service's events last told it.

    `GET /v1/complaints/{id}` has the whole case."""

    id: uuid.UUID
    number: str
    category: str
    priority: str
    status: str
    opened_at: datetime
    resolution_due: datetime | None


class LookupCustomer(CustomerRead):
    """A customer the phone found, with what the agent answering the call needs first."""

    open_followups: list[FollowUpRead] = Field(description="Open follow-up tasks, earliest due first")
    open_complaints: list[OpenComplaint] = Field(description="Open complaint cases, oldest first")
    last_visit: ServiceVisitRead | None = Field(description="The latest service visit (by opening time)")


class LookupProspect(ProspectRead):
    open_followups: list[FollowUpRead] = Field(description="Open follow-up tasks, earliest due first")


class LookupResult(BaseModel):
    """The screen pop: the customers and prospects with the phone, as this caller may see them."""

    customers: list[LookupCustomer]
    prospects: list[LookupProspect]


# --- appointments (API.md "Follow-up desk and contact centre") --------------------------------
# An appointment names its customer, car and advisor by id and code only: no contact data.


class AppointmentCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21", "vin": "LSVAU21B5N2183294",
        "requested_at": "2026-06-02T09:15:00+08:00", "slot_at": "2026-06-05T10:00:00+08:00",
        "service_type": "maintenance", "advisor": "SA01"
    }]})

    dealer_code: OrgCode | None = Field(None, description="Defaults to the caller's own dealer")
    customer_id: uuid.UUID = Field(description="A customer of the dealer")
    vin: VIN | None = Field(None, description="A vehicle on the dealer's file (put a new car on file first)")
    requested_at: UTCTime | None = Field(None, description="When the customer asked for it; defaults to now")
    slot_at: UTCTime = Field(description="The time booked; not before requested_at")
    service_type: VisitType | None = None
    advisor: Text100 | None = Field(None, description="An active staff code of the dealer")


class AppointmentUpdate(_In):
    """Moving a booked appointment (another slot, type or advisor); its status changes by `/status`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"slot_at": "2026-06-06T14:00:00+08:00", "advisor": "SA02"}]})

    slot_at: UTCTime | None = None
    service_type: VisitType | None = None
    advisor: Text100 | None = None


class AppointmentStatusChange(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "no_show"}]})

    to: Literal["arrived", "no_show", "cancelled"] = Field(
        description="Only a booked appointment moves; the status it already has again is a no-op")


class AppointmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dealer_code: str
    customer_id: uuid.UUID
    vin: str | None
    requested_at: datetime
    slot_at: datetime
    service_type: VisitType | None
    advisor: str | None
    status: AppointmentStatus
    status_changed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class StaffCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "code": "SA01", "name": "陈杰", "role": "service_advisor"}]})

    dealer_code: OrgCode | None = Field(None, description="Defaults to the caller's own dealer")
    code: StaffCode = Field(description="Unique within the dealer; records name the person by it")
    name: Name
    role: StaffRole


class StaffUpdate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}]})

    name: Name | None = None
    role: StaffRole | None = None
    active: bool | None = Field(None, description="false retires the code: records keep it, new ones may not name it")


class StaffRead(BaseModel):
    """Staff names are the dealer's business, not a customer's personal data: never masked."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dealer_code: str
    code: str
    name: str
    role: StaffRole
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


# --- care campaigns (issue 16) --------------------------------------------------------------

# The lifecycle and segment of a customer's standing (DOMAIN.md, Retention and value).
AudienceLifecycle = Literal["prospect", "active", "at_risk", "lapsed", "won_back"]
AudienceSegment = Literal["champion", "loyal", "at_risk", "hibernating", "new", "regular"]
# One SMS or WeChat message, not a letter.
MessageText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
# 10%: enough customers kept back to measure an uplift, few enough not to cost the campaign.
DEFAULT_HOLDOUT_PCT = 10


class CampaignAudience(_In):
    """Who the campaign is for: every filter given must hold (none given: all the owner's customers)."""

    lifecycle: AudienceLifecycle | None = None
    segment: AudienceSegment | None = None
    model: Text100 | None = Field(None, description="Owns a vehicle of this model (on the dealer's file; any case)")
    last_visit_before: UTCTime | None = Field(
        None, description="The last service visit was before this time (a customer never seen is not matched)")
    birthday_month: int | None = Field(None, ge=1, le=12)


class CampaignCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "org_code": "D001", "name": "中秋关怀", "kind": "holiday",
        "audience": {"lifecycle": "at_risk", "segment": "loyal"}, "channel": "sms",
        "message": {"zh-CN": "中秋快乐！本月保养工时八折。", "en": "Happy Mid-Autumn! 20% off labour this month."},
        "holdout_pct": 10}]})

    org_code: OrgCode | None = Field(None, description="Whose campaign (the caller's org or one below it); "
                                                       "defaults to the caller's own")
    name: Name
    kind: CampaignKind
    audience: CampaignAudience = Field(default_factory=CampaignAudience)
    channel: CampaignChannel
    message: Annotated[dict[Literal["zh-CN", "en"], MessageText], Field(min_length=1)]
    holdout_pct: int = Field(DEFAULT_HOLDOUT_PCT, ge=0, le=50,
                             description="Share of the reachable audience kept back, drawn per customer at launch")


class CampaignRead(BaseModel):
    """A campaign and the size of its audience.

    `audience_size` is how many customers the audience matches: now for a draft, at launch for a
    launched one (then `excluded_no_consent` of them were left out)."""

    id: uuid.UUID
    org_code: str
    name: str
    kind: CampaignKind
    audience: CampaignAudience
    channel: CampaignChannel
    message: dict[str, str]
    holdout_pct: int
    status: Literal["draft", "launched"]
    audience_size: int
    excluded_no_consent: int | None
    launched_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CampaignVisited(BaseModel):
    sent: int
    holdout: int


class CampaignResults(BaseModel):
    """KPI.md, Campaign uplift: visits within `window_days` of launch in each group."""

    campaign_id: uuid.UUID
    launched_at: datetime
    window_days: int
    window_closed: bool = Field(description="The window has ended: the figures no longer change")
    targeted: int
    sent: int
    excluded_no_consent: int
    holdout: int
    visited: CampaignVisited
    uplift_pts: float | None = Field(description="100 * (visited.sent / sent - visited.holdout / holdout); "
                                                 "null when either group is empty")


class LifecycleCounts(BaseModel):
    """Customers in each lifecycle state (DOMAIN.md, Retention and value)."""

    prospect: int
    active: int
    at_risk: int
    lapsed: int
    won_back: int


class SegmentCounts(BaseModel):
    """Customers in each value segment, as the last daily run ranked them within their dealer."""

    champion: int
    loyal: int
    at_risk: int
    hibernating: int
    new: int
    regular: int


class RetentionRead(BaseModel):
    """Where an org's customers stand: the lifecycle funnel and the value segments."""

    org_code: str
    as_of: datetime = Field(description="When the figures were counted")
    customers: int = Field(description="Customers counted (the sum of `lifecycle`)")
    lifecycle: LifecycleCounts
    segments: SegmentCounts
    unscored: int = Field(description="Customers with no segment: no visit in 24 months, or not yet ranked "
                                      "by the daily run (a first visit is scored the next day)")
