"""`GET /internal/complaints/{id}/corrective-action`: what an improvement plan (KPI service) takes over
from a complaint, asked with the plan's caller's own token, so a complaint outside the caller's
subtree is as unknown (404) as one that never existed. Not in the public OpenAPI."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.complaint.models import Complaint
from services.complaint.repository import ComplaintRepository
from shared.auth import CurrentPrincipal
from shared.service_app import SessionDep

router = APIRouter(prefix="/internal", include_in_schema=False)


class CorrectiveActionOf(BaseModel):
    complaint_id: uuid.UUID
    dealer_code: str
    org_path: str
    corrective_action: dict[str, Any] | None


async def _repo(session: SessionDep, principal: CurrentPrincipal) -> ComplaintRepository:
    return ComplaintRepository(session, principal)


@router.get("/complaints/{complaint_id}/corrective-action")
async def corrective_action(complaint_id: uuid.UUID,
                            repo: Annotated[ComplaintRepository, Depends(_repo)]) -> CorrectiveActionOf:
    case = await repo.get_visible(Complaint, complaint_id)
    return CorrectiveActionOf(complaint_id=case.id, dealer_code=case.dealer_code, org_path=case.org_path,
                              corrective_action=(case.resolution or {}).get("corrective_action"))
