"""SQLAlchemy tables of the customer service. Every business row carries its owning dealer's org path."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, BigInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, new_metadata, utcnow
from shared.service_app import plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


def org_path_index(table: str) -> Index:
    """The scope filter is `org_path LIKE '/prefix/%'`; on PostgreSQL only a pattern-ops index
    serves a prefix LIKE under a non-C collation."""
    return Index(f"ix_{table}_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"})


def updated_index(table: str) -> Index:
    """The delta feed (`?updated_since=`) pages on (updated_at, id)."""
    return Index(f"ix_{table}_updated_at_id", "updated_at", "id")


class OrgOwnedMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Customer(OrgOwnedMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("dealer_code", "external_id"),
        # The phone is the customer key in China: one customer per phone per dealer.
        Index("uq_customers_dealer_phone", "dealer_code", "phone", unique=True,
              postgresql_where=text("phone IS NOT NULL"), sqlite_where=text("phone IS NOT NULL")),
        Index("ix_customers_created_at_id", "created_at", "id"),
        # The screen pop looks a phone up across the caller's subtree, without a dealer code:
        # the unique (dealer_code, phone) index cannot serve that.
        Index("ix_customers_phone", "phone"),
        updated_index("customers"),
        org_path_index("customers"),
    )

    external_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    birth_date: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(100))
    consent_survey: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_share_with_manufacturer: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM's UPDATE carries `AND version = <the version read>`: of writers holding the same
    # ETag only the first wins, the others get StaleDataError (a 412). The code bumps `version`.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class CustomerStanding(Base):
    """Where a customer stands with the dealer (issue 16): lifecycle from the service history and
    value (recency, frequency, spend over 24 months, RFM quintiles within the dealer, segment).
    Kept apart from `customers` because a job and the visit events rewrite it in bulk: the
    customer's own version (its ETag) moves only when the customer's record changes."""

    __tablename__ = "customer_standing"
    __table_args__ = (Index("ix_customer_standing_dealer_lifecycle", "dealer_code", "lifecycle"),
                      Index("ix_customer_standing_dealer_segment", "dealer_code", "segment"),
                      org_path_index("customer_standing"))

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    # prospect, active, at_risk, lapsed, won_back (DOMAIN.md, Retention and value).
    lifecycle: Mapped[str] = mapped_column(String(20))
    lifecycle_since: Mapped[datetime]
    last_visit_at: Mapped[datetime | None]
    # The start of the customer's latest lapse: a win-back follow-up is made once per lapse.
    lapsed_at: Mapped[datetime | None]
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency_24m: Mapped[int] = mapped_column(Integer, default=0)
    monetary_24m_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    rfm: Mapped[str | None] = mapped_column(String(3))  # "545": R, F, M quintiles (5 best) within the dealer
    segment: Mapped[str | None] = mapped_column(String(20))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vehicle(OrgOwnedMixin, Base):
    __tablename__ = "vehicles"
    # Each dealer keeps its own file of a vehicle (sold here, serviced there).
    __table_args__ = (UniqueConstraint("dealer_code", "vin"), updated_index("vehicles"), org_path_index("vehicles"))

    vin: Mapped[str] = mapped_column(String(17), index=True)
    model: Mapped[str | None] = mapped_column(String(100))
    model_year: Mapped[int | None]
    plate: Mapped[str | None] = mapped_column(String(20))
    owner_customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    delivered_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM's UPDATE carries `AND version = <the version read>`: of writers holding the same
    # ETag only the first wins, the others get StaleDataError (a 412). The code bumps `version`.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Delivery(OrgOwnedMixin, Base):
    __tablename__ = "deliveries"
    __table_args__ = (org_path_index("deliveries"),)

    vin: Mapped[str] = mapped_column(String(17), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    delivered_at: Mapped[datetime]
    sales_consultant: Mapped[str | None] = mapped_column(String(100))  # a staff code of the dealer


class ServiceVisit(OrgOwnedMixin, Base):
    __tablename__ = "service_visits"
    __table_args__ = (UniqueConstraint("dealer_code", "ro_number"), updated_index("service_visits"),
                      org_path_index("service_visits"))

    ro_number: Mapped[str] = mapped_column(String(50))
    vin: Mapped[str] = mapped_column(String(17), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    visit_type: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    symptom_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    op_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    mileage_km: Mapped[int | None]
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    advisor: Mapped[str | None] = mapped_column(String(100))  # a staff code of the dealer
    technician: Mapped[str | None] = mapped_column(String(100))  # a staff code of the dealer
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    # Whether the visit's customer is the VIN's owner on the selling dealer's file (or has that
    # owner's phone), decided when the visit is recorded. Only such a visit at another dealer may
    # count as a repeat against that dealer's first-time fix (KPI.md fir); never shown to callers:
    # it would tell a dealer whether a phone is the owner's at another dealer.
    owner_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # A repeat visit: the RO whose fix failed (one of the same VIN's visits, at any dealer) and why.
    repeat_of_ro: Mapped[str | None] = mapped_column(String(50))
    repeat_cause: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM's UPDATE carries `AND version = <the version read>`: of writers holding the same
    # ETag only the first wins, the others get StaleDataError (a 412). The code bumps `version`.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Prospect(OrgOwnedMixin, Base):
    __tablename__ = "prospects"
    # The screen pop (`GET /v1/lookup?phone=`) finds prospects by phone across the caller's subtree.
    __table_args__ = (org_path_index("prospects"), Index("ix_prospects_phone", "phone"))

    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    intended_model: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(1))
    source: Mapped[str | None] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM's UPDATE carries `AND version = <the version read>`: of writers holding the same
    # ETag only the first wins, the others get StaleDataError (a 412). The code bumps `version`.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class FollowUp(OrgOwnedMixin, Base):
    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_status_due", "status", "due_at"), updated_index("follow_ups"),
                      org_path_index("follow_ups"))

    kind: Mapped[str] = mapped_column(String(20))
    # What made the task, so a redelivered event or a re-run job cannot make it twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    prospect_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("prospects.id"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    ro_number: Mapped[str | None] = mapped_column(String(50))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="open")
    outcome: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    # The desk (issue 14): whose call list it is on (a staff code of the dealer), how many calls
    # were made of how many allowed, and what the reached call found.
    assignee: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    reached: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    issue_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The case a dissatisfied call opened (set when complaint.opened names this follow-up).
    complaint_id: Mapped[uuid.UUID | None]


class Interaction(OrgOwnedMixin, Base):
    """One contact with a customer, a prospect or an unknown caller (by phone): contact history."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_dealer_created", "dealer_code", "created_at", "id"),
                      updated_index("interactions"), org_path_index("interactions"))

    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"), index=True)
    prospect_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("prospects.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str | None] = mapped_column(Text)
    # A staff code of the dealer once staff exist (issue 14 item 1); until then the text sent.
    agent: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime]
    duration_s: Mapped[int | None]


class Staff(OrgOwnedMixin, Base):
    """A person of a dealer whom records name by code: advisors, consultants, technicians, CR
    agents, managers. A retired code (`active` false) keeps its history and takes no new work."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("dealer_code", "code"), updated_index("staff"), org_path_index("staff"))

    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class FollowUpAttempt(OrgOwnedMixin, Base):
    """One call (or SMS, WeChat message, visit) made for a follow-up, with what it found."""

    __tablename__ = "follow_up_attempts"
    __table_args__ = (org_path_index("follow_up_attempts"),)

    followup_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    attempted_at: Mapped[datetime]
    reached: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))
    satisfaction: Mapped[str | None] = mapped_column(String(20))
    issue_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(100))
    # The contact history entry this attempt recorded.
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("interactions.id"))


class DeskSettings(OrgOwnedMixin, Base):
    """A dealer's desk settings (`PUT /v1/dealers/{code}/desk-settings`): one row per dealer."""

    __tablename__ = "desk_settings"
    __table_args__ = (UniqueConstraint("dealer_code"), org_path_index("desk_settings"))

    # {follow-up kind: staff code}: who gets a new task of that kind.
    default_assignees: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    maintenance_followups: Mapped[bool] = mapped_column(Boolean, default=False)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Appointment(OrgOwnedMixin, Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_dealer_slot", "dealer_code", "slot_at"), updated_index("appointments"),
                      org_path_index("appointments"))

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    requested_at: Mapped[datetime]
    slot_at: Mapped[datetime]
    service_type: Mapped[str | None] = mapped_column(String(20))
    advisor: Mapped[str | None] = mapped_column(String(100))  # a staff code of the dealer
    status: Mapped[str] = mapped_column(String(20), default="booked")
    status_changed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ComplaintSummary(Base):
    """The complaint service's cases of this service's customers, as its events tell them: what
    the screen pop shows as a caller's open complaints, without a call to another service."""

    __tablename__ = "complaint_summaries"
    __table_args__ = (Index("ix_complaint_summaries_customer_open", "customer_id", "is_open"),
                      org_path_index("complaint_summaries"))

    complaint_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    customer_id: Mapped[uuid.UUID | None]
    followup_id: Mapped[uuid.UUID | None]
    category: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(30))
    is_open: Mapped[bool] = mapped_column(Boolean)
    opened_at: Mapped[datetime]
    resolution_due: Mapped[datetime | None]
    # The event time of the last change applied: a late event never undoes a newer one.
    changed_at: Mapped[datetime]


class Campaign(Base):
    """A care campaign (issue 16): an audience of customers of the owning org's dealers, a message
    and a holdout share. Owned by a dealer, a distributor or the manufacturer (so `org_code`, not a
    dealer code). Launched once: the audience is drawn then and its counts kept here."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_created_at_id", "created_at", "id"), updated_index("campaigns"),
                      org_path_index("campaigns"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    # {lifecycle, segment, model, last_visit_before, birthday_month}: the filters given, as sent.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(20))
    message: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    holdout_pct: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    launched_at: Mapped[datetime | None]
    # At launch: customers the audience matched, and of them those left out for want of marketing consent.
    targeted: Mapped[int | None] = mapped_column(Integer)
    excluded_no_consent: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignMember(Base):
    """A customer a launched campaign reached: `cohort` sent (its campaign.message event is
    `message_event_id`) or holdout (deliberately not contacted, to measure the uplift against).
    One row per campaign and customer: a message is never published twice."""

    __tablename__ = "campaign_members"
    __table_args__ = (org_path_index("campaign_members"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)
    # The customer's dealer: members of a distributor's campaign lie in its dealers' subtrees.
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    cohort: Mapped[str] = mapped_column(String(10))
    message_event_id: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]


# Bulk: a customer import writes an event per customer, 100,000 in one statement.
TABLES = plumbing_tables(Base.metadata, bulk_outbox=True)
