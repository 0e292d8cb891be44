"""SQLAlchemy tables of the survey service. Every business row carries its owning org's path."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, new_metadata, utcnow
from shared.service_app import plumbing_tables


class Base(DeclarativeBase):
    metadata = new_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


class Survey(Base):
    """A survey and its editable draft; what customers answer are its frozen versions."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("org_path", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    template: Mapped[str | None] = mapped_column(String(20))
    draft: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_version: Mapped[int | None] = mapped_column(Integer)
    # True when the draft differs from the newest published version.
    draft_changed: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The ORM's UPDATE carries `AND version = <the version read>`: of writers holding the same
    # ETag only the first wins, the others get StaleDataError (a 412). The code bumps `version`.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyVersion(Base):
    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    org_path: Mapped[str] = mapped_column(String(400))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerConsent(Base):
    """What the customer service told us about a customer's survey consent (customer events)."""

    __tablename__ = "customer_consents"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400))
    survey: Mapped[bool] = mapped_column(Boolean, default=False)
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The customer record's version the last customer event applied here reported (None: not known,
    # from an older producer or the customer service's direct answer); an older one is ignored.
    customer_version: Mapped[int | None] = mapped_column(Integer)


_SCHEDULED = text("status = 'scheduled'")
_UNREMINDED = text("status = 'sent' AND reminded_at IS NULL")


class Invitation(Base):
    """An invitation: scheduled (due later, made by an event), sent, responded or cancelled."""

    __tablename__ = "invitations"
    __table_args__ = (
        # Partial: the claim (by token, its status a parameter) can never be planned on them
        # (migration 0011).
        Index("ix_invitations_scheduled_due", "due_at", postgresql_where=_SCHEDULED, sqlite_where=_SCHEDULED),
        Index("ix_invitations_unreminded_sent", "sent_at", postgresql_where=_UNREMINDED, sqlite_where=_UNREMINDED),
        Index("ix_invitations_customer_sent", "customer_id", "sent_at"),
        Index("ix_invitations_created_at_id", "created_at", "id"),
        Index("ix_invitations_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id"), index=True)
    survey_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    dealer_code: Mapped[str] = mapped_column(String(40))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    vin: Mapped[str | None] = mapped_column(String(17))
    ro_number: Mapped[str | None] = mapped_column(String(60))
    # Who served the customer on the visit or delivery the invitation follows (staff codes of its
    # dealer, as the DMS or the customer service named them); its response copies them.
    advisor: Mapped[str | None] = mapped_column(String(100))
    technician: Mapped[str | None] = mapped_column(String(100))
    sales_consultant: Mapped[str | None] = mapped_column(String(100))
    # The visit's vehicle model and symptom codes (EDER evidence on a "not fixed" answer); its response copies them.
    vehicle_model: Mapped[str | None] = mapped_column(String(100))
    symptom_codes: Mapped[list[str] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(String(200))
    # What made it: "api", or "<event type>:<business key>" so a redelivered fact schedules once.
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    # When the public page or JSON API first read the link (survey integrity: how long the answer took).
    first_opened_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The delta feed's key. The ORM sets it on every change; the token claim (a Core statement
    # run on the driver, where no Python default runs) sets it itself.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_created_at_id", "created_at", "id"),
                      Index("ix_survey_responses_updated_at_id", "updated_at", "id"),
                      # A group's latest members first (migration 0010): the history rules read a bounded number.
                      Index("ix_survey_responses_dealer_device_time", "dealer_code", "device_hash", "created_at"),
                      Index("ix_survey_responses_dealer_text_time", "dealer_code", "text_hash", "created_at"),
                      UniqueConstraint("survey_id", "external_id"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # None for a response imported from a third-party study (no invitation of ours).
    invitation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invitations.id"), unique=True)
    # The third party's id of an imported response; imports are idempotent by (survey_id, external_id).
    external_id: Mapped[str | None] = mapped_column(String(100))
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id"), index=True)
    survey_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    dealer_code: Mapped[str] = mapped_column(String(40), index=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    vin: Mapped[str | None] = mapped_column(String(17))
    ro_number: Mapped[str | None] = mapped_column(String(60))
    # Its invitation's staff, or an imported row's: the people KPIs attribute the response to them.
    advisor: Mapped[str | None] = mapped_column(String(100))
    technician: Mapped[str | None] = mapped_column(String(100))
    sales_consultant: Mapped[str | None] = mapped_column(String(100))
    # Its invitation's visit model and symptom codes (none for imports): an alert's quality evidence group.
    vehicle_model: Mapped[str | None] = mapped_column(String(100))
    symptom_codes: Mapped[list[str] | None] = mapped_column(JSON)
    # As submitted (for replay comparison) and as kept (only the questions that were shown).
    submitted: Mapped[dict[str, Any]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Unrounded, per KPI.md; rounded only when written into a response.
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    score_index: Mapped[float | None] = mapped_column(Float)
    nps_category: Mapped[str | None] = mapped_column(String(10))
    alerts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Survey integrity (DOMAIN.md): seconds from first opening to submission, the gateway's salted
    # hashes of the client address and of address + user agent (never the raw values, never shown
    # to a dealer), a hash of the free text, and the flags with their review.
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    client_hash: Mapped[str | None] = mapped_column(String(64))
    device_hash: Mapped[str | None] = mapped_column(String(64))
    text_hash: Mapped[str | None] = mapped_column(String(64))
    integrity_status: Mapped[str] = mapped_column(String(10), default="clean", server_default="clean")
    integrity_flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    review_note: Mapped[str | None] = mapped_column(String(1000))
    # When the customer answered (for an import, the study's own timestamp).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When this row last changed here (an import's arrival, an erasure's blanking): the delta feed's
    # key. A submission, inserted on the driver, sets it itself.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IntegrityRules(Base):
    """An organisation's integrity rules for its subtree (the nearest organisation's rules win)."""

    __tablename__ = "integrity_rules"

    org_path: Mapped[str] = mapped_column(String(400), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(40))
    flags: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


TABLES = plumbing_tables(Base.metadata)
