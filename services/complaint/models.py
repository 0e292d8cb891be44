"""SQLAlchemy tables of the complaint service. Every business row carries its owning org's path."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, new_metadata, utcnow
from shared.service_app import plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class Complaint(Base):
    """A case. `org_path` is the dealer's path for its whole life (visibility); escalation
    moves the responsibility (`handling_org_*`) up the tree, not the ownership."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_created_at_id", "created_at", "id"),
        Index("ix_complaints_updated_at_id", "updated_at", "id"),
        # One case per survey alert, however often the alert is delivered or re-published.
        Index("uq_complaints_alert_response", "survey_response_id", unique=True,
              sqlite_where=text("channel = 'survey_alert'"), postgresql_where=text("channel = 'survey_alert'")),
        # One case per dissatisfied follow-up call, however often followup.issue_found arrives
        # or however many consumers race for it.
        Index("uq_complaints_followup_id", "followup_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    dealer_code: Mapped[str] = mapped_column(String(40), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    handling_org_code: Mapped[str] = mapped_column(String(40))
    handling_org_path: Mapped[str] = mapped_column(String(400))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    ro_number: Mapped[str | None] = mapped_column(String(60))
    survey_response_id: Mapped[uuid.UUID | None]
    # The follow-up call (customer service) whose dissatisfied result opened the case.
    followup_id: Mapped[uuid.UUID | None]
    # The survey response that raised the alert is flagged and not reviewed yet (survey integrity):
    # the customer is unhappy all the same, but the response may have been coached or made.
    response_under_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(30))
    priority: Mapped[str] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str | None] = mapped_column(String(120))
    vehicle_model: Mapped[str | None] = mapped_column(String(60))
    symptom_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The SLA clock: the policy as it was at opening, working time spent stopped, and when it stopped.
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    clock_stopped_at: Mapped[datetime | None]
    first_response_due: Mapped[datetime]
    resolution_due: Mapped[datetime]
    breached: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    erased_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by every write (claim_version, and the ORM on the system's own: breaches, erasure): the delta feed.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TimelineEntry(Base):
    """Who did what to a case, and when: changes, comments, escalations, breaches."""

    __tablename__ = "complaint_timeline"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(30))
    actor_subject: Mapped[str] = mapped_column(String(120))
    actor_org_code: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseCounter(Base):
    """One row per year; `n` is the last case number handed out (incremented under the row lock)."""

    __tablename__ = "complaint_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


class SlaPolicy(Base):
    """An SLA for one priority, set by an org for its subtree (a dealer's own row beats its parents')."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("org_path", "priority"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    priority: Mapped[str] = mapped_column(String(2))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaBreach(Base):
    """A missed SLA target; the unique (case, kind) makes each breach reported once."""

    __tablename__ = "sla_breaches"
    __table_args__ = (UniqueConstraint("complaint_id", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"))
    org_path: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComplaintSymptom(Base):
    """A product-quality case under one (model, symptom) group: what quality signals count."""

    __tablename__ = "complaint_symptoms"
    __table_args__ = (Index("ix_complaint_symptoms_group", "vehicle_model", "symptom_code", "opened_at"),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    symptom_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    vehicle_model: Mapped[str] = mapped_column(String(60))
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    opened_at: Mapped[datetime]
    # What kind of evidence the case is: complaint, survey ("not fixed" answer), follow_up (call).
    source: Mapped[str] = mapped_column(String(20), default="complaint", server_default="complaint")


class QualitySignal(Base):
    __tablename__ = "quality_signals"
    __table_args__ = (
        UniqueConstraint("vehicle_model", "symptom_code", "window_start"),
        Index("ix_quality_signals_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    vehicle_model: Mapped[str] = mapped_column(String(60))
    symptom_code: Mapped[str] = mapped_column(String(40))
    window_start: Mapped[datetime]
    case_count: Mapped[int] = mapped_column(Integer)
    dealer_codes: Mapped[list[str]] = mapped_column(JSON)
    complaint_ids: Mapped[list[str]] = mapped_column(JSON)
    # [{kind, count, complaint_ids}] per kind of evidence, in SOURCE_KINDS order.
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)



class TechRequest(Base):
    """A dealer's technical question (EDER): the dealer's distributor's technical team answers it
    first, escalation hands it to the manufacturer's. `org_path` is the dealer's for its whole
    life (visibility); `handling_org_*` is the team that owes the answer."""

    __tablename__ = "tech_requests"
    __table_args__ = (Index("ix_tech_requests_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    dealer_code: Mapped[str] = mapped_column(String(40), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    handling_org_code: Mapped[str] = mapped_column(String(40))
    handling_org_path: Mapped[str] = mapped_column(String(400))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    vin: Mapped[str] = mapped_column(String(17))
    symptom_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20), index=True)
    opened_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The answer SLA as it was at opening (settings may change later) and the dealer's calendar:
    # each escalation gives the next team this much business time again.
    answer_minutes: Mapped[int] = mapped_column(Integer)
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answer_due: Mapped[datetime] = mapped_column(index=True)
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TechRequestTimelineEntry(Base):
    """Who did what to a technical request: opened, answered (the answer is the note), escalated, breached, closed."""

    __tablename__ = "tech_request_timeline"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    tech_request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tech_requests.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(30))
    actor_subject: Mapped[str] = mapped_column(String(120))
    actor_org_code: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TechRequestCounter(Base):
    """One row per year; `n` is the last technical request number handed out (as CaseCounter)."""

    __tablename__ = "tech_request_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, default=0)


class TechRequestBreach(Base):
    """A missed answer due time at one escalation level; the unique key reports it once."""

    __tablename__ = "tech_request_breaches"
    __table_args__ = (UniqueConstraint("tech_request_id", "escalation_level"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tech_request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tech_requests.id"))
    org_path: Mapped[str] = mapped_column(String(400))
    escalation_level: Mapped[int] = mapped_column(Integer)
    handling_org_code: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime]
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bulletin(Base):
    """A countermeasure bulletin: owned by its sender (`org_path`), addressed to every dealer below it."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    models: Mapped[list[str]] = mapped_column(JSON, default=list)
    symptom_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    signal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("quality_signals.id"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BulletinAck(Base):
    """A dealer read a bulletin (once); `org_path` is the dealer's."""

    __tablename__ = "bulletin_acks"

    bulletin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulletins.id"), primary_key=True)
    dealer_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    acknowledged_by: Mapped[str] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)


class BulletinReminder(Base):
    """The overdue reminder sent for one dealer and bulletin; the key makes it sent once."""

    __tablename__ = "bulletin_reminders"

    bulletin_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bulletins.id"), primary_key=True)
    dealer_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_path: Mapped[str] = mapped_column(String(400))
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recall(Base):
    """A manufacturer's recall campaign; `remedy_op_code` on a visit of an affected VIN completes it."""

    __tablename__ = "recalls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    org_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    title: Mapped[str] = mapped_column(String(200))
    remedy_op_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecallVin(Base):
    """An affected vehicle, owned by its responsible dealer (`org_path` is the dealer's; the
    recall's own path while no dealer is known)."""

    __tablename__ = "recall_vins"
    __table_args__ = (Index("ix_recall_vins_vin", "vin"), Index("ix_recall_vins_recall_path", "recall_id", "org_path"))

    recall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    vin: Mapped[str] = mapped_column(String(17), primary_key=True)
    dealer_code: Mapped[str | None] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    completed_ro: Mapped[str | None] = mapped_column(String(60))


class VehicleDealer(Base):
    """Read model from vehicle.delivered and service_visit.closed: the dealer responsible for a
    VIN (the selling one, else the last servicing one), so a recall import of 100,000 VINs
    joins one local index instead of asking the customer service."""

    __tablename__ = "vehicle_dealers"

    vin: Mapped[str] = mapped_column(String(17), primary_key=True)
    selling_dealer_code: Mapped[str | None] = mapped_column(String(40))
    selling_org_path: Mapped[str | None] = mapped_column(String(400))
    servicing_dealer_code: Mapped[str | None] = mapped_column(String(40))
    servicing_org_path: Mapped[str | None] = mapped_column(String(400))
    serviced_at: Mapped[datetime | None]


TABLES = plumbing_tables(Base.metadata)
