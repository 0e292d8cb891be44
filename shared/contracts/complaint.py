"""Payloads of the events the complaint service publishes (CloudEvents `data`).

The survey service sends a resolution survey on `complaint.resolved`; the KPI service rolls
up cases, breaches and reopenings; webhooks pass them on to dealer systems. Every payload
names the dealer and its org path (the case's owner) and the org now responsible for it.
"""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

SOURCE = "/csloop/complaint"

OPENED = "complaint.opened"
STATUS_CHANGED = "complaint.status_changed"
ESCALATED = "complaint.escalated"
RESOLVED = "complaint.resolved"
CLOSED = "complaint.closed"
SLA_BREACHED = "complaint.sla_breached"
QUALITY_SIGNAL_RAISED = "quality.signal.raised"
BULLETIN_PUBLISHED = "bulletin.published"
BULLETIN_OVERDUE = "bulletin.overdue"
RECALL_VIN_ASSIGNED = "recall.vin_assigned"
RECALL_COMPLETED = "recall.completed"


class _Payload(BaseModel):
    # Consumers ignore fields added later, so the producer may grow a payload freely.
    model_config = ConfigDict(extra="ignore")

    complaint_id: uuid.UUID
    number: str
    dealer_code: str
    org_path: str
    handling_org_code: str
    escalation_level: int
    customer_id: uuid.UUID | None = None
    vin: str | None = None
    channel: str
    category: str
    priority: Literal["P1", "P2", "P3", "P4"]
    status: str
    # The complaint service's rules, stated once here so consumers need not re-derive them from
    # `status` and a timeline: whether the case still waits on a resolution, and when it was
    # first answered (acknowledged).
    is_open: bool
    opened_at: datetime
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    reopen_count: int = 0
    # Current due times: they move later while the case waits on the customer.
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None


class ComplaintOpened(_Payload):
    ro_number: str | None = None
    survey_response_id: uuid.UUID | None = None
    # The follow-up call whose dissatisfied result opened the case (channel follow_up).
    followup_id: uuid.UUID | None = None


class StatusChanged(_Payload):
    from_status: str
    to_status: str
    changed_at: datetime


class Escalated(_Payload):
    from_org_code: str
    to_org_code: str
    reason: str
    trigger: Literal["manual", "sla_breach", "priority"]
    escalated_at: datetime


class RootCause(BaseModel):
    category: Literal["people", "process", "parts", "product"]
    text: str


class Resolved(_Payload):
    """complaint.resolved: the survey service reads complaint_id, dealer_code, org_path, customer_id, vin, resolved_at."""

    root_cause: RootCause | None = None
    actions: list[str] = []
    compensation_minor: int | None = None


class Closed(_Payload):
    closed_at: datetime
    customer_agrees: bool | None = None
    root_cause: RootCause | None = None


class SlaBreached(_Payload):
    kind: Literal["first_response", "resolution"]
    due_at: datetime
    detected_at: datetime


SourceKind = Literal["complaint", "survey", "follow_up"]


class SignalSource(BaseModel):
    """The cases of one kind of evidence behind a quality signal."""

    model_config = ConfigDict(extra="ignore")

    kind: SourceKind
    count: int
    complaint_ids: list[uuid.UUID]


class QualitySignalRaised(BaseModel):
    """EDER: product-quality cases of one model and symptom from several dealers within the window."""

    model_config = ConfigDict(extra="ignore")

    signal_id: uuid.UUID
    org_path: str
    vehicle_model: str
    symptom_code: str
    window_start: datetime
    case_count: int
    dealer_codes: list[str]
    complaint_ids: list[uuid.UUID]
    # The evidence by kind: complaint (product-quality cases), survey ("not fixed" answers),
    # follow_up (calls that found the fix failed). Absent from events older than the field.
    sources: list[SignalSource] = []


# --- technical requests (issue 18, EDER) -------------------------------------------------------

TECH_REQUEST_OPENED = "tech_request.opened"
TECH_REQUEST_ANSWERED = "tech_request.answered"
TECH_REQUEST_ESCALATED = "tech_request.escalated"
TECH_REQUEST_CLOSED = "tech_request.closed"


class _TechRequestPayload(BaseModel):
    """What every tech_request.* event says: the request's owner (dealer and its org path), the
    technical team that owes the answer now, and the answer due time it owes it by."""

    model_config = ConfigDict(extra="ignore")

    tech_request_id: uuid.UUID
    number: str
    dealer_code: str
    org_path: str
    handling_org_code: str
    escalation_level: int
    vin: str
    symptom_codes: list[str]
    priority: Literal["P1", "P2", "P3", "P4"]
    status: Literal["open", "answered", "closed"]
    opened_at: datetime
    answer_due: datetime
    answered_at: datetime | None = None
    closed_at: datetime | None = None


class TechRequestOpened(_TechRequestPayload):
    description: str


class TechRequestAnswered(_TechRequestPayload):
    answer: str
    answered_by_org_code: str


class TechRequestEscalated(_TechRequestPayload):
    from_org_code: str
    to_org_code: str
    reason: str
    trigger: Literal["manual", "sla_breach"]
    escalated_at: datetime


class TechRequestClosed(_TechRequestPayload):
    pass




class BulletinPublished(BaseModel):
    """A countermeasure bulletin for every dealer under `org_path` (its sender)."""

    model_config = ConfigDict(extra="ignore")

    bulletin_id: uuid.UUID
    org_code: str
    org_path: str
    title: str
    models: list[str]
    symptom_codes: list[str]
    signal_id: uuid.UUID | None = None
    published_at: datetime


class BulletinOverdue(BaseModel):
    """A dealer has not acknowledged a bulletin within 3 business days: its service manager is reminded."""

    model_config = ConfigDict(extra="ignore")

    bulletin_id: uuid.UUID
    title: str
    dealer_code: str
    org_path: str
    published_at: datetime
    due_at: datetime


class RecallVinAssigned(BaseModel):
    """Affected VINs of a recall given to their responsible dealer (one event per dealer and
    batch, so a 100,000-VIN import is a few hundred events); `dealer_code` None: no dealer known yet."""

    model_config = ConfigDict(extra="ignore")

    recall_code: str
    title: str
    remedy_op_code: str
    dealer_code: str | None
    org_path: str
    vins: list[str]
    assigned_at: datetime


class RecallCompleted(BaseModel):
    """A visit with the remedy op code completed the recall on one VIN."""

    model_config = ConfigDict(extra="ignore")

    recall_code: str
    vin: str
    dealer_code: str | None
    org_path: str
    ro_number: str
    completed_at: datetime
