"""Request bodies and answers of the KPI API (API.md, KPIs). Figures are rounded to one decimal
as they leave the service (`reports.shown`); `n` is the count of records behind a value."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class KpiFigure(BaseModel):
    value: float | None
    n: int
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
