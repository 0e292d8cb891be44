"""Request bodies of the KPI API (its answers are plain dicts shaped in `reports`)."""

from typing import Literal

from pydantic import BaseModel, Field

from shared.types import OrgCode

Level = Literal["dealer", "distributor"]
SurveyKind = Literal["csi", "ssi"]


class TargetPut(BaseModel):
    org_code: OrgCode
    kpi: str = Field(max_length=30)
    period: str = Field(max_length=7, description="YYYY-MM, YYYY-Qn or YYYY")
    target: float = Field(ge=-100, le=1_000_000)
