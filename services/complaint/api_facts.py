"""`GET /internal/facts/complaints`: each case as its opened event, plus its state today, for a KPI rebuild."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.complaint.events import common
from services.complaint.repository import ComplaintRepository
from shared.auth import scoped, system_principal
from shared.pagination import PageParams, page_params
from shared.service_app import SessionDep

router = APIRouter(include_in_schema=False)
Internal = scoped("internal")
Params = Annotated[PageParams, Depends(page_params)]


@router.get("/internal/facts/complaints")
async def complaints(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor, kinds = await ComplaintRepository(session, system_principal()).cases_page(params)
    return {"items": [{**common(c), "survey_response_id": c.survey_response_id, "followup_id": c.followup_id,
                       "ro_number": c.ro_number, "breached_kinds": kinds.get(c.id, [])} for c in rows],
            "next_cursor": cursor}
