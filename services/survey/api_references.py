"""`POST /internal/references`: is the survey response a write names one of its dealer's?

Another service (complaints) forwards its caller's internal token, so the lookup runs under
the caller's scope: a response of another subtree is as unknown as one that never existed,
and the answer is the same for an unknown, an invisible and another dealer's response.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.survey.repository import SurveyRepository
from shared.auth import CurrentPrincipal
from shared.service_app import SessionDep

router = APIRouter(prefix="/internal", include_in_schema=False)


class ReferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dealer_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    survey_response_id: uuid.UUID | None = None
    # Where the write also names a customer, the response must be that customer's (or anonymous).
    customer_id: uuid.UUID | None = None


class ReferencesOut(BaseModel):
    """One `{field, message: "unknown <kind>"}` per reference that does not hold; empty when all do."""

    errors: list[dict[str, str]]


async def _repo(session: SessionDep, principal: CurrentPrincipal) -> SurveyRepository:
    return SurveyRepository(session, principal)


@router.post("/references")
async def check_references(data: ReferencesIn, repo: Annotated[SurveyRepository, Depends(_repo)]) -> ReferencesOut:
    if data.survey_response_id is None:
        return ReferencesOut(errors=[])
    response = await repo.response(data.survey_response_id)
    if (response is None or response.dealer_code != data.dealer_code
            or (data.customer_id and response.customer_id not in (None, data.customer_id))):
        return ReferencesOut(errors=[{"field": "survey_response_id", "message": "unknown response"}])
    return ReferencesOut(errors=[])
