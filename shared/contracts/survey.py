"""Payloads of the events the survey service publishes (CloudEvents `data`).

The complaint service opens cases from `survey.alert.raised`; the KPI service rolls up
invitations and responses; webhooks pass them on to dealer systems. Scores are unrounded
(KPI.md pools unrounded values); every payload names the dealer and its org path.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SOURCE = "/csloop/survey"

INVITATION_SENT = "survey.invitation.sent"
INVITATION_REMINDED = "survey.invitation.reminded"
RESPONSE_SUBMITTED = "survey.response.submitted"
# Survey integrity (issue 17): a flag raised after submission (the third device, the third identical
# text, a spike week) and the review by the manufacturer or a distributor. Between services only.
RESPONSE_FLAGGED = "survey.response.flagged"
RESPONSE_REVIEWED = "survey.response.reviewed"
ALERT_RAISED = "survey.alert.raised"

Channel = Literal["sms", "wechat", "email", "app"]


class StaffOnRecord(BaseModel):
    """Who served the customer on the visit or delivery the survey follows (staff codes).

    The advisor and technician of the repair order, the sales consultant of the delivery (API.md,
    People); the KPI service attributes the response's figures to them (KPI.md, People KPIs)."""

    model_config = ConfigDict(extra="ignore")

    advisor: str | None = None
    technician: str | None = None
    sales_consultant: str | None = None


IntegrityStatus = Literal["clean", "flagged", "invalid", "valid"]
IntegrityFlag = Literal["speeder", "straight_line", "shared_device", "dealer_network", "duplicate_text", "dealer_spike"]


class Integrity(BaseModel):
    """Whether a response looks made or coached (DOMAIN.md, Survey integrity). `flagged` keeps it out
    of every KPI until a review says `valid` (in) or `invalid` (out for good)."""

    model_config = ConfigDict(extra="ignore")

    status: IntegrityStatus = "clean"
    flags: list[IntegrityFlag] = []

    @property
    def counts(self) -> bool:
        """Whether the response enters the KPIs."""
        return self.status in ("clean", "valid")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dealer_code: str
    org_path: str
    survey_id: uuid.UUID
    survey_code: str
    survey_version: int
    kind: str
    customer_id: uuid.UUID | None = None
    vin: str | None = None
    ro_number: str | None = None
    # None when the survey follows no visit or delivery, or for payloads older than the field.
    staff: StaffOnRecord | None = None


class InvitationSent(_Payload):
    """survey.invitation.sent and survey.invitation.reminded: a notifier delivers `url` on `channel`.

    `url` opens the survey for whoever holds it, so the event is the survey owner's to deliver
    (its SMS provider sends it): `survey_org_path` names the owner, and the gateway passes the
    event to that organisation's webhooks only, never to a dealer below a survey owned above it.
    Optional only for payloads recorded before the field existed; the survey service always sets it.
    """

    invitation_id: uuid.UUID
    survey_org_code: str | None = None
    survey_org_path: str | None = None
    channel: Channel
    url: str
    sent_at: datetime
    expires_at: datetime


class Scores(BaseModel):
    model_config = ConfigDict(extra="ignore")

    index: float | None = None
    factors: dict[str, float] = {}
    nps_score: int | None = None
    nps_category: Literal["promoter", "passive", "detractor"] | None = None
    # Only for surveys with expectation items: {dimensions: {code: {expectation, perception, gap, css}}, gap, css}.
    servqual: dict[str, Any] | None = None


class ResponseSubmitted(_Payload):
    response_id: uuid.UUID
    # None for a response imported from a third-party study (POST /v1/survey-responses/import).
    invitation_id: uuid.UUID | None = None
    submitted_at: datetime
    scores: Scores
    # Absent from payloads older than survey integrity: those responses were clean.
    integrity: Integrity = Integrity()


class ResponseIntegrityChanged(_Payload):
    """survey.response.flagged (a flag raised after submission) and survey.response.reviewed (a review's
    decision, `reviewed_at` set): the response's integrity as it now stands."""

    response_id: uuid.UUID
    submitted_at: datetime
    integrity: Integrity
    reviewed_at: datetime | None = None


class AlertReason(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rule: Literal["index_below", "nps_detractor", "critical_answer"]
    detail: str
    question: str | None = None


class AlertRaised(_Payload):
    """A response broke an alert rule: the complaint service opens a case (channel "survey alert")."""

    response_id: uuid.UUID
    submitted_at: datetime
    reasons: list[AlertReason]
    priority: Literal["P1", "P2", "P3", "P4"]
    scores: Scores
    # A flagged response still alerts (an unhappy customer is unhappy whoever coached them); the case
    # says the response is under review.
    integrity: Integrity = Integrity()
    # EDER: "not_fixed" when an answer chose an option marked `quality_evidence: not_fixed` (the CSI
    # template's fixed-first-time "no"); with the model and symptom codes of the visit the survey
    # followed, the complaint service counts the alert's case as quality evidence.
    quality_evidence: Literal["not_fixed"] | None = None
    model: str | None = None
    symptom_codes: list[str] = []
