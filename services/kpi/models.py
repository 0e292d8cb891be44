"""SQLAlchemy tables of the KPI service: one fact row per source record, and monthly rollups.

Facts keep the timestamps KPI.md windows over (FIR, retention, SLA) and make an event for a
record already known a no-op. Rollups hold sums and counts per org x month (and x year):
each record adds to its own org's row and to every org's above it, so an org's figure is its
own rows' s / n, pooled over every record below it, never a mean of means.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, new_metadata, utcnow
from shared.service_app import plumbing_tables

PATH = String(400)


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class ResponseFact(Base):
    __tablename__ = "kpi_responses"

    response_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime]
    index_score: Mapped[float | None] = mapped_column(Float)
    nps_category: Mapped[str | None] = mapped_column(String(10))
    factors: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    # Who served the customer on the visit or delivery the survey followed (staff codes of the
    # response's dealer): the people KPIs (KPI.md) attribute the response to them.
    advisor: Mapped[str | None] = mapped_column(String(100))
    technician: Mapped[str | None] = mapped_column(String(100))
    sales_consultant: Mapped[str | None] = mapped_column(String(100))
    # False for results a third party delivered in bulk (no invitation): out of the response rate.
    invited: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Survey integrity (DOMAIN.md): the response's status and flags as the survey service's last word
    # on them left them (repository_facts.FactStore.change_integrity); only clean and valid responses
    # are in the rollups and the people figures. `reviewed_at` orders reviews that arrive out of order.
    integrity_status: Mapped[str] = mapped_column(String(10), default="clean", server_default="clean")
    integrity_flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    reviewed_at: Mapped[datetime | None]
    # False while only an integrity change is known (it came before its submission): no scores yet,
    # nothing counted; the submission fills the row in.
    recorded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class InvitationFact(Base):
    __tablename__ = "kpi_invitations"

    invitation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH, index=True)
    sent_at: Mapped[datetime]


class VisitFact(Base):
    __tablename__ = "kpi_visits"
    __table_args__ = (Index("ix_kpi_visits_path_closed", "org_path", "closed_at"),
                      Index("ix_kpi_visits_vin_opened", "vin", "opened_at"))

    visit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    vin: Mapped[str] = mapped_column(String(17))
    visit_type: Mapped[str] = mapped_column(String(20))
    # A visit without an open time counts as opened when it closed (repeat-visit window).
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime]
    symptom_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The visit's customer is the VIN's owner on record (customer service): only then does a
    # repeat here fail another dealer's fix; otherwise it is listed at /v1/kpi/fir-held-out.
    owner_verified: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the visit said when it opened (else `opened_at` is its close): repair lead time needs it.
    opened_reported: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The repair order's people: an advisor's and a technician's first-time fix (KPI.md, People KPIs).
    advisor: Mapped[str | None] = mapped_column(String(100))
    technician: Mapped[str | None] = mapped_column(String(100))
    # A repeat visit's cause of the failed fix (diagnosis, parts, workmanship, product, other).
    repeat_cause: Mapped[str | None] = mapped_column(String(20))


class DeliveryFact(Base):
    __tablename__ = "kpi_deliveries"
    __table_args__ = (Index("ix_kpi_deliveries_path_delivered", "org_path", "delivered_at"),)

    delivery_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    vin: Mapped[str] = mapped_column(String(17))
    delivered_at: Mapped[datetime]


class ComplaintFact(Base):
    __tablename__ = "kpi_complaints"
    __table_args__ = (Index("ix_kpi_complaints_path_opened", "org_path", "opened_at"),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    category: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    # As the complaint service's last event said (complaint.* `is_open`): the KPI service keeps
    # no copy of which states are open.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    survey_response_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    opened_at: Mapped[datetime]
    first_response_due: Mapped[datetime]
    resolution_due: Mapped[datetime]
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    breached_first_response: Mapped[bool] = mapped_column(Boolean, default=False)
    breached_resolution: Mapped[bool] = mapped_column(Boolean, default=False)


class FollowUpFact(Base):
    __tablename__ = "kpi_followups"
    __table_args__ = (Index("ix_kpi_followups_path_due", "org_path", "due_at"),)

    followup_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # None only for tasks recorded before kinds were kept, until a rebuild: no contact rates for them.
    kind: Mapped[str | None] = mapped_column(String(20))
    # open, done, unreachable (followup.unreachable), cancelled (followup.cancelled: its customer erased).
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    # What the call that closed it found; None for a task done before calls had results (reached).
    reached: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    unreachable_at: Mapped[datetime | None]
    # Whose call it is (a staff code), and as of when: a late assignment never undoes a newer one.
    # Kept for the people figures (issue 15).
    assignee: Mapped[str | None] = mapped_column(String(100))
    assigned_at: Mapped[datetime | None]


class AppointmentFact(Base):
    """An appointment as its last `appointment.changed` (by `changed_at`) left it."""

    __tablename__ = "kpi_appointments"
    __table_args__ = (Index("ix_kpi_appointments_path_slot", "org_path", "slot_at"),
                      Index("ix_kpi_appointments_path_booked", "org_path", "booked_at"))

    appointment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime]
    slot_at: Mapped[datetime]
    booked_at: Mapped[datetime]
    changed_at: Mapped[datetime]
    advisor: Mapped[str | None] = mapped_column(String(100))  # for the people figures (issue 15)


class AlertFact(Base):
    __tablename__ = "kpi_alerts"
    __table_args__ = (Index("ix_kpi_alerts_path_raised", "org_path", "raised_at"),)

    response_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    raised_at: Mapped[datetime]


class StaffMember(Base):
    """A dealer's staff member as the customer service's last `staff.changed` (by version) left it:
    names and roles for the people scorecards. Facts name people by code; this says who they are."""

    __tablename__ = "kpi_staff"

    org_path: Mapped[str] = mapped_column(PATH, primary_key=True)  # the dealer's path
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Rollup(Base):
    """Per org path x month x metric: n values of the org's whole subtree, their sum and sum of squares
    (for intervals). `month` is `YYYY-MM`, or `YYYY` for the year's row (services/kpi/deltas.py).

    Keyed metric first so a figure for a set of months reads one index range per month.
    """

    __tablename__ = "kpi_rollups"

    metric: Mapped[str] = mapped_column(String(30), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    s: Mapped[float] = mapped_column(Float, default=0.0)
    ss: Mapped[float] = mapped_column(Float, default=0.0)


class FactorRollup(Base):
    """Per org path x month (or year) x survey kind x factor, for the org's whole subtree: the sums a
    pooled Pearson r needs."""

    __tablename__ = "kpi_factor_rollups"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    factor: Mapped[str] = mapped_column(String(60), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    sx: Mapped[float] = mapped_column(Float, default=0.0)
    sy: Mapped[float] = mapped_column(Float, default=0.0)
    sxx: Mapped[float] = mapped_column(Float, default=0.0)
    syy: Mapped[float] = mapped_column(Float, default=0.0)
    sxy: Mapped[float] = mapped_column(Float, default=0.0)


class Target(Base):
    __tablename__ = "kpi_targets"

    org_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    kpi: Mapped[str] = mapped_column(String(30), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH, index=True)
    target: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationScheme(Base):
    """One version of a manufacturer's dealer evaluation scheme: every PUT adds the next version, and a
    published evaluation names the version it used. Readable by the orgs below its owner (rls ancestors_read)."""

    __tablename__ = "kpi_evaluation_schemes"

    org_path: Mapped[str] = mapped_column(PATH, primary_key=True)  # the manufacturer's
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # [{code, title, weight, kpis: [{kpi, weight, floor, ceiling}]}] and [{name, min_score, rebate_pct}]
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublishedEvaluation(Base):
    """A scheme's evaluation of a period, frozen: its items (EvaluationItem) are never recomputed, and
    a rebuild (FACT_MODELS) leaves them alone."""

    __tablename__ = "kpi_evaluations"

    org_path: Mapped[str] = mapped_column(PATH, primary_key=True)  # the scheme owner's
    scheme: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    scheme_version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(120))


class EvaluationItem(Base):
    """One evaluated org of a published evaluation, keyed by its own path: row-level security shows a
    dealer its own item only. `elements` keeps every input figure: {CODE: {score, kpis: {KPI: {value,
    n, points}}}}, unrounded; rank is network-wide."""

    __tablename__ = "kpi_evaluation_items"

    org_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    network_path: Mapped[str] = mapped_column(PATH)  # the scheme owner's: which PublishedEvaluation
    level: Mapped[str] = mapped_column(String(20))
    org_code: Mapped[str] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(60))
    rebate_pct: Mapped[float | None] = mapped_column(Float)
    elements: Mapped[dict[str, Any]] = mapped_column(JSON)


class LifecycleFact(Base):
    """A customer's lifecycle change (`lifecycle.changed`): lapsed_rate reads, per customer, the
    latest change before a period's end. Not among FACT_MODELS: a rebuild has no source to replay
    them from (the customer service keeps only the current standing), so it keeps them."""

    __tablename__ = "kpi_lifecycle"
    __table_args__ = (Index("ix_kpi_lifecycle_path_changed", "org_path", "changed_at"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    changed_at: Mapped[datetime] = mapped_column(primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    lifecycle: Mapped[str] = mapped_column(String(20))



class RecallVinFact(Base):
    """An affected VIN of a recall (recall.vin_assigned), owned by its responsible dealer (the
    latest assignment's), and when a visit with the remedy completed it (recall.completed)."""

    __tablename__ = "kpi_recall_vins"
    __table_args__ = (Index("ix_kpi_recall_vins_path_assigned", "org_path", "assigned_at"),)

    recall_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    vin: Mapped[str] = mapped_column(String(17), primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    assigned_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


TABLES = plumbing_tables(Base.metadata)
FACT_MODELS: tuple[Any, ...] = (ResponseFact, InvitationFact, VisitFact, DeliveryFact, ComplaintFact,
                                FollowUpFact, AlertFact, AppointmentFact, StaffMember, RecallVinFact)


class ImprovementPlan(Base):
    """An improvement plan (PDCA) of one org for one KPI: from `baseline` in `period` to `target`,
    re-checked on the KPI of `recheck_period` (`result_*`, filled once that period has ended and
    the KPI has a value). Status moves plan -> do -> check -> act | closed (services/kpi/plans.py)."""

    __tablename__ = "kpi_plans"
    __table_args__ = (Index("ix_kpi_plans_path_created", "org_path", "created_at"),
                      Index("ix_kpi_plans_unchecked", "recheck_end", postgresql_where=text("result_at IS NULL"),
                            sqlite_where=text("result_at IS NULL")))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_path: Mapped[str] = mapped_column(PATH)
    org_code: Mapped[str] = mapped_column(String(40))
    kpi: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(7))
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    recheck_period: Mapped[str] = mapped_column(String(7))
    # When `recheck_period` ends: the re-check job's index, so it never parses every open plan's label.
    recheck_end: Mapped[datetime]
    cause: Mapped[str] = mapped_column(String(4000))
    source_kind: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="plan")
    result_value: Mapped[float | None] = mapped_column(Float)
    result_met: Mapped[bool | None] = mapped_column(Boolean)
    result_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImprovementAction(Base):
    """One action of a plan, at its 0-based `position`. `org_path` is the plan's, so the scope wall
    and row-level security cover actions as they cover plans."""

    __tablename__ = "kpi_plan_actions"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_path: Mapped[str] = mapped_column(PATH)
    description: Mapped[str] = mapped_column(String(4000))
    owner: Mapped[str | None] = mapped_column(String(120))
    due: Mapped[date]
    # The complaint whose corrective action this is: marking it done tells the complaint service.
    complaint_id: Mapped[uuid.UUID | None]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(120))
    # When `improvement.action_overdue` was recorded for it: at most once per action.
    overdue_published_at: Mapped[datetime | None]
