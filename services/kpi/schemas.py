"""Request bodies and answers of the KPI API (API.md, KPIs). Figures are rounded to one decimal
as they leave the service (`reports.shown`); `n` is the count of records behind a value."""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from services.kpi.domain import KPIS
from shared.types import OrgCode

Level = Literal["dealer", "distributor"]
SurveyKind = Literal["csi", "ssi"]
Quadrant = Literal["keep_up", "improve_first", "maintain", "low_priority"]


class TargetPut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "org_code": "D001", "kpi": "csi", "period": "2026-Q3", "target": 92.5
    }]})

    org_code: OrgCode
    kpi: str = Field(max_length=30)
    period: str = Field(max_length=7, description="YYYY-MM, YYYY-Qn or YYYY")
    target: float = Field(ge=-100, le=1_000_000)


class SparedFix(BaseModel):
    """A first-time fix the held-out visit would have failed had its customer been the owner on record."""

    visit_id: uuid.UUID
    org_code: str = Field(description="The dealer whose fix it was")
    closed_at: datetime


class HeldOutVisit(BaseModel):
    """A repair/warranty visit recorded for a customer who is not the VIN's owner on the selling dealer's file."""

    visit_id: uuid.UUID
    org_code: str = Field(description="The dealer that recorded the visit")
    vin: str
    visit_type: str
    opened_at: datetime
    closed_at: datetime
    symptom_codes: list[str]
    held_out_of: list[SparedFix] = Field(description="The other dealers' fixes it does not fail, those in the caller's subtree")


class FirHeldOut(BaseModel):
    org_code: str
    period: str
    items: list[HeldOutVisit]


class FirCause(BaseModel):
    cause: Literal["diagnosis", "parts", "workmanship", "product", "other", "unknown"]
    count: int
    share: float | None = Field(description="Percent of the failures (0-100); null when no fix failed")


class FirCauses(BaseModel):
    """The FIR failures of the org's fixes in the period by the cause the repeat visit recorded."""

    org_code: str
    period: str
    fixes: int = Field(description="Repair and warranty visits closed in the period (the fir KPI's n)")
    failures: int = Field(description="Those a repeat visit failed (KPI.md fir)")
    items: list[FirCause]


class KpiFigure(BaseModel):
    value: float | None
    n: int
    n_excluded: int = Field(0, description="Responses held out of the KPI in the period (survey integrity: flagged "
                                           "and not reviewed valid); 0 for the KPIs not computed from responses")
    target: float | None
    met: bool | None = Field(description="Whether the value meets the target; null without either")


class KpiSummary(BaseModel):
    org_code: str
    period: str
    kpis: dict[str, KpiFigure] = Field(description="Every KPI of KPI.md by name")


class RankedOrg(BaseModel):
    rank: int
    org_code: str
    name: str
    value: float | None
    n: int
    ci_low: float | None = Field(description="The 95% interval the rank is taken from (its pessimistic end)")
    ci_high: float | None


class KpiRankings(BaseModel):
    kpi: str
    period: str
    level: Level
    org_code: str
    items: list[RankedOrg]


class TrendPoint(BaseModel):
    period: str = Field(description="YYYY-MM")
    value: float | None
    n: int


class KpiTrend(BaseModel):
    kpi: str
    org_code: str
    points: list[TrendPoint]


class DriverFactor(BaseModel):
    factor: str
    performance: float | None
    importance: float | None = Field(description="Pearson r with the index; null below the minimum responses")
    n: int
    quadrant: Quadrant | None


class KpiDrivers(BaseModel):
    kind: SurveyKind
    org_code: str
    period: str
    responses: int
    factors: list[DriverFactor]
    improve_first: list[str] = Field(description="Factors in the improve_first quadrant, worst performance first")


class ComplaintCounts(BaseModel):
    org_code: str
    period: str
    opened: int
    open: int
    breached: int
    by_category: dict[str, int]


class KpiTarget(BaseModel):
    org_code: str
    kpi: str
    period: str
    target: float


class KpiRebuilt(BaseModel):
    """What `POST /internal/kpi/rebuild` read from the source services."""

    rebuilt: dict[str, int] = Field(description="Records read per kind (deliveries, visits, responses, complaints, ...)")


# --- improvement plans (PDCA) ------------------------------------------------------------------

PlanStatus = Literal["plan", "do", "check", "act", "closed"]
SourceKind = Literal["kpi_gap", "driver", "complaint"]
PlanText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Owner = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class PlanSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] = Field(
        description="kpi_gap: the KPI or its gap, driver: the factor, complaint: the complaint's id")


class PlanActionIn(BaseModel):
    """An action; one naming `complaint_id` without a description is that complaint's corrective action
    (its description, owner and due date, unless given here)."""

    model_config = ConfigDict(extra="forbid")

    description: PlanText | None = None
    owner: Owner | None = Field(None, description="A dealer's plan: an active staff code of the dealer; "
                                                  "a distributor's or manufacturer's plan: free text")
    due: date | None = None
    complaint_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _complete_without_complaint(self) -> "PlanActionIn":
        if self.complaint_id is None and (self.description is None or self.owner is None or self.due is None):
            raise ValueError("an action names its description, owner and due date, or a complaint_id")
        return self


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "org_code": "D001", "kpi": "csi", "period": "2026-Q3", "baseline": 84.2, "target": 88.0,
        "recheck_period": "2026-Q4", "cause": "Vehicles returned unwashed after service",
        "source": {"kind": "driver", "ref": "vehicle_cleanliness"},
        "actions": [{"description": "Wash every car before hand-over", "owner": "SA-01", "due": "2026-10-15"}]
    }]})

    org_code: OrgCode
    kpi: str = Field(max_length=30)
    period: str = Field(max_length=7, description="YYYY-MM, YYYY-Qn or YYYY: the period of the baseline")
    baseline: float = Field(ge=-1_000_000, le=1_000_000)
    target: float = Field(ge=-1_000_000, le=1_000_000)
    recheck_period: str = Field(max_length=7, description="The period whose KPI re-checks the plan (not before `period`)")
    cause: PlanText
    source: PlanSource
    actions: list[PlanActionIn] = Field(default_factory=list, max_length=50, description=(
        "Empty with a complaint source: the complaint's corrective action is the one action"))


class PlanTransition(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": "do"}]})

    to: PlanStatus


class PlanActionRead(BaseModel):
    index: int
    description: str
    owner: str | None
    due: date
    complaint_id: uuid.UUID | None
    done_at: datetime | None
    overdue: bool = Field(description="Past its due date and not done")


class PlanResult(BaseModel):
    value: float = Field(description="The KPI of the plan's org in `recheck_period`")
    met: bool = Field(description="Whether it meets the plan's target, in the KPI's direction")


class PlanRead(BaseModel):
    id: uuid.UUID
    org_code: str
    kpi: str
    period: str
    baseline: float
    target: float
    recheck_period: str
    cause: str
    source: PlanSource
    status: PlanStatus
    actions: list[PlanActionRead]
    result: PlanResult | None = Field(description="Once `recheck_period` has ended and the KPI has a value")
    created_at: datetime
    updated_at: datetime


# --- dealer evaluation (KPI.md "Dealer evaluation") ----------------------------------------------

SchemeCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", description="1-40 letters, digits, '-' or '_'")]
Weight = Annotated[float, Field(gt=0, le=1_000_000)]
Bound = Annotated[float, Field(ge=-1_000_000, le=1_000_000)]


class SchemeKpi(BaseModel):
    kpi: str = Field(max_length=30, description="A KPI of /v1/kpi/summary")
    weight: Weight
    floor: Bound = Field(description="The value worth 0 points (above the ceiling: lower is better)")
    ceiling: Bound = Field(description="The value worth 100 points")

    @field_validator("kpi")
    @classmethod
    def _known(cls, kpi: str) -> str:
        if kpi not in KPIS:
            raise ValueError(f"unknown KPI; one of {', '.join(KPIS)}")
        return kpi

    @model_validator(mode="after")
    def _span(self) -> "SchemeKpi":
        if self.floor == self.ceiling:
            raise ValueError("floor and ceiling must differ")
        return self


class SchemeElement(BaseModel):
    code: SchemeCode
    title: str = Field(min_length=1, max_length=200)
    weight: Weight
    kpis: list[SchemeKpi] = Field(min_length=1, max_length=30)

    @field_validator("kpis")
    @classmethod
    def _distinct(cls, kpis: list[SchemeKpi]) -> list[SchemeKpi]:
        return _unique(kpis, lambda k: k.kpi, "KPI")


class SchemeTier(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    min_score: float = Field(ge=0, le=100)
    rebate_pct: float = Field(ge=0, le=100)


class _SchemeBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    elements: list[SchemeElement] = Field(min_length=1, max_length=20)
    tiers: list[SchemeTier] = Field(max_length=20)

    @field_validator("elements")
    @classmethod
    def _distinct_elements(cls, elements: list[SchemeElement]) -> list[SchemeElement]:
        return _unique(elements, lambda e: e.code, "element code")

    @field_validator("tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: list[SchemeTier]) -> list[SchemeTier]:
        return _unique(tiers, lambda t: t.name, "tier name")


class EvaluationSchemePut(_SchemeBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Dealer evaluation", "elements": [
            {"code": "CS", "title": "CS improvement", "weight": 30, "kpis": [
                {"kpi": "csi", "weight": 2, "floor": 70, "ceiling": 95},
                {"kpi": "complaint_rate", "weight": 1, "floor": 5, "ceiling": 0}]}],
        "tiers": [{"name": "A", "min_score": 85, "rebate_pct": 2.0}, {"name": "B", "min_score": 70, "rebate_pct": 1.0}]
    }]})


def _unique(items: list[Any], key: Callable[[Any], str], what: str) -> list[Any]:
    seen = [key(item) for item in items]
    if len(set(seen)) != len(seen):
        raise ValueError(f"each {what} at most once")
    return items


class EvaluationSchemeRead(_SchemeBody):
    code: str
    version: int = Field(description="Every PUT adds a version; the ETag names it")
    owner_code: str = Field(description="The manufacturer whose network the scheme evaluates")
    created_at: datetime


class EvaluationSchemes(BaseModel):
    items: list[EvaluationSchemeRead] = Field(description="The newest version of each scheme you may read")


class EvaluatedKpi(BaseModel):
    value: float | None
    n: int
    points: float | None = Field(description="100 x clamp((value - floor) / (ceiling - floor), 0, 1); null without a value")


class EvaluatedElement(BaseModel):
    score: float | None = Field(description="Weighted mean of the points of its KPIs that have a value")
    kpis: dict[str, EvaluatedKpi]


class EvaluatedOrg(BaseModel):
    org_code: str
    score: float | None = Field(description="Weighted mean of the element scores that have one; null without any")
    rank: int | None = Field(description="By score over the scheme's whole network (equal scores share a rank)")
    tier: str | None
    rebate_pct: float | None
    elements: dict[str, EvaluatedElement]


class DealerEvaluation(BaseModel):
    scheme: str
    scheme_version: int
    period: str
    level: Level
    org_code: str = Field(description="Whose subtree the items are")
    items: list[EvaluatedOrg] = Field(description="Best first")
    published_at: datetime | None = Field(description="Null: computed now from the current figures")
    published_by: str | None


# --- people scorecards and departments (KPI.md, People KPIs) -------------------------------------

PeopleKpi = Literal["csi", "ssi", "nps", "fir", "followup_on_time", "followup_contact_rate",
                    "followup_dissatisfied_rate"]
# The role a figure is attributed under (services/kpi/people.py), not necessarily the staff member's own.
PeopleRole = Literal["service_advisor", "technician", "sales_consultant", "cr_agent"]
Department = Literal["service", "sales", "cr"]


class PersonFigure(BaseModel):
    staff_code: str
    name: str = Field(description="From the dealer's staff record; the code while the KPI service knows none")
    role: PeopleRole = Field(description="The role the records are attributed to the person under")
    dealer_code: str
    value: float | None
    n: int
    ci_low: float | None = Field(description="The 95% interval the rank is taken from (its pessimistic end)")
    ci_high: float | None
    rank: int | None = Field(description="Among the people of the same role; null below the minimum n")


class KpiPeople(BaseModel):
    kpi: PeopleKpi
    period: str
    org_code: str
    role: PeopleRole | None
    min_n: int = Field(description="Records a person needs to be ranked")
    items: list[PersonFigure] = Field(description="By role, then ranked people by rank, then the others")


class DepartmentFigure(BaseModel):
    dealer_code: str
    department: Department
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None


class KpiDepartments(BaseModel):
    kpi: PeopleKpi
    period: str
    org_code: str
    items: list[DepartmentFigure] = Field(description="By dealer code, then department")
