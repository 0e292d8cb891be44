"""`GET /internal/facts/complaints`: each case as its opened event, plus its state today, for a KPI rebuild."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from services.complaint.events import _common
from services.complaint.models import Complaint, SlaBreach
from shared.auth import scoped
from shared.pagination import PageParams, keyset_page, page_params
from shared.service_app import SessionDep

router = APIRouter(include_in_schema=False)
Internal = scoped("internal")
Params = Annotated[PageParams, Depends(page_params)]


@router.get("/internal/facts/complaints")
async def complaints(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await keyset_page(session, select(Complaint), Complaint, params)
    breaches = await session.execute(select(SlaBreach.complaint_id, SlaBreach.kind)
                                     .where(SlaBreach.complaint_id.in_([c.id for c in rows])))
    kinds: dict[Any, list[str]] = {}
    for complaint_id, kind in breaches:
        kinds.setdefault(complaint_id, []).append(kind)
    return {"items": [{**_common(c), "survey_response_id": c.survey_response_id, "ro_number": c.ro_number,
                       "first_response_due": c.first_response_due, "resolution_due": c.resolution_due,
                       "first_responded_at": c.first_responded_at, "breached_kinds": kinds.get(c.id, [])}
                      for c in rows], "next_cursor": cursor}
