"""Request bodies of the KPI API, and the answers that have a model (most are plain dicts shaped in `reports`)."""

import uuid
from datetime import datetime
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
