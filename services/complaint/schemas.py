"""Request and response bodies of the complaint API."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.complaint.sla.business_hours import Calendar
from services.complaint.domain import Category, Channel, Priority, Status, Target, TechRequestStatus
from shared.contracts.complaint import RootCause
from shared.types import VIN, MinorUnits

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Action = Literal["apology", "explanation", "redo", "discount", "goodwill"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComplaintCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21", "vin": "LSVAU21B5N2183294",
        "channel": "hotline", "category": "repair_quality", "priority": "P2",
        "description": "Noise from the front axle after the repair", "ro_number": "RO-2026-0001"
    }]})

    dealer_code: Code
    customer_id: uuid.UUID | None = None
    vin: VIN | None = None
    channel: Channel
    category: Category
    priority: Priority
    description: Text
    ro_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    survey_response_id: uuid.UUID | None = None
    assignee: Annotated[str, StringConstraints(max_length=120)] | None = None
    vehicle_model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)] | None = None
    symptom_codes: list[Code] = Field(default_factory=list, max_length=20)


class ComplaintUpdate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "assignee": "chen.jie"
    }]})

    assignee: Annotated[str, StringConstraints(max_length=120)] | None = None


class TransitionIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "to": "in_progress", "note": "Called the customer back"
    }]})

    to: Target
    note: Note | None = None


class EscalateIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reason": "Customer asks for the distributor"
    }]})

    reason: Text


class CommentIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "text": "Parts ordered, arriving Friday"
    }]})

    text: Text


class CorrectiveAction(_In):
    description: Text
    owner: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    due: date


class ResolutionIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "summary": "Front axle bearing replaced",
        "root_cause": {"category": "parts", "text": "Faulty bearing batch"}, "actions": ["apology", "redo"],
        "compensation_minor": 0, "customer_agrees": True
    }]})

    summary: Text
    root_cause: RootCause | None = None
    actions: list[Action] = Field(default_factory=list)
    compensation_minor: MinorUnits = 0
    corrective_action: CorrectiveAction | None = None
    customer_agrees: bool | None = None


class TimelineRead(BaseModel):
    kind: str
    at: datetime
    actor: dict[str, str]
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    data: dict[str, Any] = {}


class ComplaintRead(BaseModel):
    id: uuid.UUID
    number: str
    status: Status
    dealer_code: str
    org_path: str
    handling_org_code: str
    escalation_level: int
    customer_id: uuid.UUID | None
    vin: str | None
    ro_number: str | None
    survey_response_id: uuid.UUID | None
    followup_id: uuid.UUID | None = Field(description="The follow-up call whose dissatisfied result opened the case "
                                                      "(channel follow_up)")
    response_under_review: bool = Field(description="The survey response that opened the case is flagged and "
                                                    "not reviewed yet by the manufacturer or distributor")
    channel: str
    category: str
    priority: str
    description: str
    assignee: str | None
    vehicle_model: str | None
    symptom_codes: list[str]
    reopen_count: int
    opened_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_due: datetime
    resolution_due: datetime
    clock_running: bool
    updated_at: datetime = Field(description="When the case last changed: the `updated_since` feed's key")
    breached: bool
    resolution: dict[str, Any] | None
    version: int
    timeline: list[TimelineRead] | None = None


class SlaPolicyIn(_In):
    priority: Priority
    first_response_hours: Annotated[float, Field(gt=0, le=24 * 365)]
    resolution_hours: Annotated[float, Field(gt=0, le=24 * 365)]
    calendar: Calendar | None = None


class SlaPoliciesPut(_In):
    """Replaces the policies of one org (the caller's, or `dealer_code` below it) for the priorities given."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "policies": [{"priority": "P1", "first_response_hours": 2, "resolution_hours": 24}, {
            "priority": "P2", "first_response_hours": 4, "resolution_hours": 40, "calendar": {
                "timezone": "Asia/Shanghai", "official": "CN",
                "weekdays": {day: ["08:30", "17:30"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}}}]
    }]})

    dealer_code: Code | None = None
    policies: Annotated[list[SlaPolicyIn], Field(min_length=1, max_length=4)]


class SlaPolicyRead(BaseModel):
    priority: Priority
    first_response_hours: float
    resolution_hours: float
    calendar: Calendar | None
    # The org path the policy was set at, or "default" for the built-in numbers.
    source: str


class SlaPoliciesRead(BaseModel):
    org_path: str
    items: list[SlaPolicyRead]


class QualitySignalSource(BaseModel):
    kind: Literal["complaint", "survey", "follow_up"]
    count: int
    complaint_ids: list[uuid.UUID]


class QualitySignalRead(BaseModel):
    id: uuid.UUID
    org_path: str
    vehicle_model: str
    symptom_code: str
    window_start: datetime
    case_count: int
    dealer_codes: list[str]
    complaint_ids: list[uuid.UUID]
    # The evidence by kind (complaint, survey, follow_up); empty for signals raised before sources were kept.
    sources: list[QualitySignalSource]
    created_at: datetime


# --- technical requests (issue 18) -------------------------------------------------------------

class TechRequestCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "dealer_code": "D001", "vin": "LSVAU21B5N2183294", "symptom_codes": ["P0300"],
        "description": "Misfire at idle after the software update; compression and coils checked", "priority": "P2"
    }]})

    dealer_code: Code
    vin: VIN
    symptom_codes: list[Code] = Field(default_factory=list, max_length=20)
    description: Text
    priority: Priority


class TechRequestAnswerIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "body": "Flash ECU software 4.2.1 (bulletin TB-2026-017), then clear the adaptation values"
    }]})

    body: Text


class TechRequestEscalateIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reason": "The answer did not fix it; the misfire is back after 200 km"
    }]})

    reason: Text


class TechRequestTimelineRead(BaseModel):
    kind: str = Field(description="opened, answered, escalated, breached or closed")
    at: datetime
    actor: dict[str, str]
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = Field(None, description="The answer's text, an escalation's reason")
    data: dict[str, Any] = {}


class TechRequestRead(BaseModel):
    id: uuid.UUID
    number: str
    status: TechRequestStatus
    dealer_code: str
    org_path: str
    handling_org_code: str = Field(description="The technical team that owes the answer: the dealer's distributor, "
                                               "then whoever the request was escalated to")
    escalation_level: int
    vin: str
    symptom_codes: list[str]
    description: str
    priority: Priority
    opened_at: datetime
    answer_due: datetime = Field(description="When the handling team's answer is due (business hours on the "
                                             "dealer's calendar)")
    answered_at: datetime | None
    closed_at: datetime | None
    breached: bool = Field(description="Some team let its answer due time pass")
    updated_at: datetime
    version: int
    timeline: list[TechRequestTimelineRead] | None = None


# --- bulletins and recalls (the quality loop going down the network) ----------------------------

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class BulletinCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Front axle noise: replace the bearing with part 31-2207", "body": "Check the bearing batch ...",
        "models": ["Lavida"], "symptom_codes": ["NOISE_FRONT_AXLE"], "signal_id": None
    }]})

    title: Title
    body: Text
    models: list[Code] = Field(default_factory=list, max_length=50)
    symptom_codes: list[Code] = Field(default_factory=list, max_length=20)
    signal_id: uuid.UUID | None = Field(None, description="A quality signal of your subtree the bulletin answers")


class BulletinRead(BaseModel):
    id: uuid.UUID
    org_code: str = Field(description="The sender: every dealer below it is addressed")
    org_path: str
    title: str
    body: str
    models: list[str]
    symptom_codes: list[str]
    signal_id: uuid.UUID | None
    created_at: datetime
    acknowledged: bool | None = Field(None, description="Whether your dealership acknowledged it (dealers only)")


class BulletinAckRead(BaseModel):
    dealer_code: str
    acknowledged_by: str
    acknowledged_at: datetime


class BulletinAcksRead(BaseModel):
    bulletin_id: uuid.UUID
    acknowledged: list[BulletinAckRead]
    unacknowledged: list[str] = Field(description="Codes of the addressed dealers that have not read it")


class RecallCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "RC-2026-014", "title": "Fuel pump relay replacement", "remedy_op_code": "RC14A",
        "vins": ["LFV3A23C7K3012345"]
    }]})

    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                           pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    title: Title
    remedy_op_code: Code
    vins: list[VIN] = Field(default_factory=list, max_length=10_000,
                            description="More VINs go through POST /v1/recalls/{code}/vins/import")


class RecallRead(BaseModel):
    id: uuid.UUID
    code: str
    org_code: str
    title: str
    remedy_op_code: str
    created_at: datetime
    vins_added: int = Field(description="Affected VINs this request added")


class RecallSummaryRead(BaseModel):
    code: str
    title: str
    remedy_op_code: str
    created_at: datetime
    affected: int = Field(description="Affected VINs in your subtree (the manufacturer's: every one, with or without a dealer)")
    completed: int
    rate: float | None = Field(description="completed / affected, pooled over your subtree")


class RecallImportRead(BaseModel):
    recall_code: str
    received: int
    added: int = Field(description="VINs new to the recall (the others were already listed)")


class RecallProgressItem(BaseModel):
    dealer_code: str
    affected: int
    completed: int
    rate: float | None


class RecallProgressRead(BaseModel):
    recall_code: str
    org_code: str
    affected: int = Field(description="Pooled over the org's subtree (VINs without a known dealer count at the manufacturer)")
    completed: int
    rate: float | None = Field(description="completed / affected, pooled (not a mean of the dealers' rates)")
    items: list[RecallProgressItem]
