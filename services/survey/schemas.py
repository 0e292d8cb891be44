"""Request and response bodies of the survey API (the definition's own parts live in `definition`)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.survey.definition import AlertRules, Code, Factor, Kind, LocalText, Question
from services.survey.integrity import IntegrityFlags
from shared.contracts.survey import AlertReason, Channel, IntegrityFlag, IntegrityStatus, Scores, StaffOnRecord
from shared.types import VIN

MAX_IMPORT_ROWS = 5000

TemplateName = Literal["csi", "ssi", "nps", "servqual", "resolution"]
# As the customer service's staff codes (services/customer/schemas.py StaffCode).
StaffCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100,
                                             pattern=r"^[^\x00-\x1f\x7f]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SurveyCreate(_In):
    """A full definition, or `{template}` with optional overrides of code, title and alert_rules."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "template": "csi", "code": "csi_service"
    }]})

    template: TemplateName | None = None
    code: Code | None = None
    kind: Kind | None = None
    title: LocalText | None = None
    factors: list[Factor] | None = None
    questions: list[Question] | None = None
    alert_rules: AlertRules | None = None
    expected_seconds: int | None = Field(None, ge=1, le=86400)

    @model_validator(mode="after")
    def _template_or_definition(self) -> "SurveyCreate":
        if self.template is None:
            missing = [name for name in ("code", "kind", "title", "questions") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"without a template, give {', '.join(missing)}")
        elif self.kind is not None or self.factors is not None or self.questions is not None:
            raise ValueError("a template fixes kind, factors and questions; edit them after creating")
        return self


class SurveyUpdate(_In):
    """Edits the draft; publishing it makes the next version."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": {"zh-CN": "售后服务满意度", "en": "After-sales satisfaction"}
    }]})

    title: LocalText | None = None
    factors: list[Factor] | None = None
    questions: list[Question] | None = None
    alert_rules: AlertRules | None = None
    expected_seconds: int | None = Field(None, ge=1, le=86400)


class DefinitionRead(BaseModel):
    kind: Kind
    title: dict[str, str]
    factors: list[Factor]
    questions: list[Question]
    alert_rules: AlertRules
    expected_seconds: int | None = None


class TemplateRead(DefinitionRead):
    name: TemplateName


class SurveyRead(DefinitionRead):
    id: uuid.UUID
    code: str
    template: str | None
    org_code: str
    org_path: str
    published_version: int | None
    draft_changed: bool
    version: int
    created_at: datetime
    updated_at: datetime


class SurveyVersionRead(DefinitionRead):
    survey_id: uuid.UUID
    code: str
    version: int
    published_at: datetime


class StaffServed(_In):
    """Who served the customer on the visit or delivery the survey follows: staff codes of the
    record's dealer (API.md, Staff), retired ones included; any other code is a 422 "unknown staff
    member". The KPI service attributes the response's CSI, FIR and NPS to the advisor and
    technician, its SSI and NPS to the sales consultant."""

    advisor: StaffCode | None = None
    technician: StaffCode | None = None
    sales_consultant: StaffCode | None = None


class InvitationContext(_In):
    ro_number: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    vin: VIN | None = None
    staff: StaffServed | None = Field(None, description=(
        "Who served the customer on the repair order or delivery (the DMS knows); the response copies it"))


class InvitationCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "survey_id": "8d3c2a41-6b7e-4f0a-a1c9-2e5d7f90b134", "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21",
        "dealer_code": "D001", "channel": "sms",
        "context": {"ro_number": "RO-2026-0001", "vin": "LSVAU21B5N2183294",
                    "staff": {"advisor": "SA07", "technician": "T12"}}
    }]})

    survey_id: uuid.UUID
    customer_id: uuid.UUID
    dealer_code: str
    channel: Channel
    context: InvitationContext = Field(default_factory=InvitationContext)
    # Accepted so that integrators who send it keep working; it no longer opens anything: a
    # customer must be known from customer events (issue 10), and their consent is then known.
    consent_confirmed: bool = Field(default=False, deprecated=True,
                                    description="Ignored: the consent on record for the customer decides")
    expires_in_days: int | None = Field(default=None, ge=1, le=90)


class InvitationCreated(BaseModel):
    id: uuid.UUID
    token: str | None = Field(description="Null when the survey is owned above you: its owner delivers the link")
    url: str | None = Field(description="Null when the survey is owned above you: its owner delivers the link")
    expires_at: datetime


class InvitationRead(BaseModel):
    id: uuid.UUID
    survey_id: uuid.UUID
    survey_version: int
    kind: str
    customer_id: uuid.UUID | None
    dealer_code: str
    channel: str
    context: dict[str, str | None]
    staff: StaffOnRecord | None = Field(description="Who served the customer on the visit or delivery it follows; "
                                                    "null when nobody was named")
    status: Literal["scheduled", "sent", "responded", "cancelled"]
    status_reason: str | None
    url: str | None
    due_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    reminded_at: datetime | None
    responded_at: datetime | None
    created_at: datetime
    updated_at: datetime = Field(description="When the invitation last changed: the `updated_since` feed's key")


class PublicQuestion(BaseModel):
    """A question as the survey page renders it (without the internal `critical` rule)."""

    code: str
    type: str
    text: dict[str, str]
    scale_min: int | None
    scale_max: int | None
    options: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    factor: str | None
    required: bool
    show_if: dict[str, Any] | None


class PublicSurvey(BaseModel):
    survey_id: uuid.UUID
    version: int
    kind: str
    title: dict[str, str]
    factors: list[Factor]
    questions: list[PublicQuestion]
    dealer_code: str
    expires_at: datetime


class AnswersIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answers": {"overall": 9, "comment": "Quick and friendly"}
    }]})

    answers: dict[str, Any] = Field(max_length=500)


class PublicResponseRead(BaseModel):
    id: uuid.UUID
    survey_id: uuid.UUID
    version: int
    kind: str
    submitted_at: datetime
    answers: dict[str, Any]
    scores: Scores


class ResponseIntegrity(BaseModel):
    status: IntegrityStatus = Field(description="flagged: out of every KPI until reviewed; invalid: out for good")
    flags: list[IntegrityFlag]
    duration_seconds: float | None = Field(description="From the link's first opening to the submission; "
                                                       "null when not answered through the page or JSON API")
    reviewed_at: datetime | None
    review_note: str | None = Field(description="The reviewer's note; null for the dealer itself")
    client_hash: str | None = Field(description="Salted hash of the client address; null for the dealer itself")
    device_hash: str | None = Field(description="Salted hash of address and user agent; null for the dealer itself")


class ResponseRead(BaseModel):
    id: uuid.UUID
    invitation_id: uuid.UUID | None = Field(description="None for a response imported from a third-party study")
    external_id: str | None = Field(None, description="The third party's id of an imported response")
    survey_id: uuid.UUID
    survey_version: int
    kind: str
    dealer_code: str
    customer_id: uuid.UUID | None
    vin: str | None
    ro_number: str | None
    staff: StaffOnRecord | None = Field(description="Its invitation's staff, or an imported row's; "
                                                    "null when nobody was named")
    answers: dict[str, Any]
    scores: Scores
    alerts: list[AlertReason]
    submitted_at: datetime
    updated_at: datetime = Field(description="When the response last changed here: the `updated_since` feed's key")
    integrity: ResponseIntegrity


class ResponseReview(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"decision": "invalid", "note": "Answered on the showroom tablet by the sales consultant"}]})

    decision: Literal["valid", "invalid"] = Field(description="valid: the response enters the KPIs; invalid: it stays out")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000,
                                           pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")] | None = None


class IntegrityRulesIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"org_code": "D-NORTH", "flags": {"speeder": {"on": True, "min_share": 0.33},
                                          "shared_device": {"on": True, "customers": 3, "days": 7},
                                          "dealer_spike": {"on": False}}}]})

    org_code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    flags: IntegrityFlags = Field(default_factory=IntegrityFlags)


class IntegrityRulesRead(BaseModel):
    org_code: str = Field(description="The organisation asked about")
    set_by: str | None = Field(description="The organisation whose rules are in force; null: the defaults")
    flags: IntegrityFlags


class DealerIntegrity(BaseModel):
    dealer_code: str
    responses: int
    flagged: int = Field(description="Flagged and not yet reviewed")
    invalid: int = Field(description="Reviewed invalid")
    valid: int = Field(description="Flagged, then reviewed valid")
    by_flag: dict[IntegrityFlag, int] = Field(description="Responses raising each flag (reviewed or not)")


class LinkDealer(BaseModel):
    dealer_code: str
    org_path: str


class IntegrityReport(BaseModel):
    org_code: str
    period: str
    dealers: list[DealerIntegrity]


class ResponseImportRow(_In):
    """One third-party result; checked row by row, so one bad row does not refuse the others."""

    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    dealer_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    customer_id: uuid.UUID | None = None
    vin: VIN | None = None
    ro_number: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    staff: StaffServed | None = Field(None, description="Who served the customer on the visit or delivery surveyed")
    submitted_at: AwareDatetime = Field(description="When the customer answered, with its UTC offset; not in the future")
    answers: dict[str, Any] = Field(max_length=500)


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its nested models (`$defs`, e.g. StaffServed) written in place:
    embedded in the OpenAPI document, a `#/$defs/...` reference would point at nothing."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/"):
                return resolve(defs[node["$ref"].removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


class ResponseImport(_In):
    """Results of a study run by a third party, scored against the survey's newest published version.

    Each item of `responses` is `{external_id, dealer_code, customer_id?, vin?, ro_number?,
    staff?: {advisor?, technician?, sales_consultant?}, submitted_at, answers}`; a bad item is reported in `errors` and the good ones are kept.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "survey_id": "8d3c2a41-6b7e-4f0a-a1c9-2e5d7f90b134",
        "responses": [{"external_id": "JDP-88121", "dealer_code": "D001", "customer_id": "5b1f0b7e-3c1d-4a57-9d2e-0c6f3b8a9e21", "submitted_at": "2026-06-03T12:00:00+08:00", "answers": {"overall": 8}}]
    }]})

    survey_id: uuid.UUID
    responses: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_IMPORT_ROWS,
                                            json_schema_extra={"items": _inlined(ResponseImportRow.model_json_schema())})


class ImportError_(BaseModel):
    row: int = Field(description="1 for the first item of `responses`")
    field: str
    message: str


class ResponseImportResult(BaseModel):
    created: int
    duplicates: int = Field(description="Rows whose (survey_id, external_id) was already imported (nothing changed)")
    failed: int
    errors: list[ImportError_]
