"""What a KPI rebuild replays, each record in the shape of the event that told it:
- `GET /internal/facts/complaints`: each case as its opened event, plus its state today;
- `GET /internal/facts/recalls`: each recall's affected VINs as recall.vin_assigned payloads (one
  per dealer and time added, the dealer answering for them today);
- `GET /internal/facts/recall-completions`: each completed VIN as its recall.completed payload.
"""

from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.complaint import events
from services.complaint.events import common
from services.complaint.models import Recall, RecallVin
from services.complaint.repository import ComplaintRepository
from services.complaint.repository_loop import LoopRepository
from shared.auth import scoped, system_principal
from shared.pagination import PageParams, page_params
from shared.service_app import SessionDep

router = APIRouter(include_in_schema=False)
Internal = scoped("internal")
Params = Annotated[PageParams, Depends(page_params)]
# Recalls per page: one lists up to hundreds of thousands of VINs, so a page is a few recalls
# whatever limit the rebuild asks for (it follows the cursor).
RECALLS_PER_PAGE = 5


@router.get("/internal/facts/complaints")
async def complaints(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor, kinds = await ComplaintRepository(session, system_principal()).cases_page(params)
    return {"items": [{**common(c), "survey_response_id": c.survey_response_id, "followup_id": c.followup_id,
                       "ro_number": c.ro_number, "breached_kinds": kinds.get(c.id, [])} for c in rows],
            "next_cursor": cursor}


async def _recall_page(session: SessionDep, params: PageParams) -> tuple[list[Recall], list[RecallVin], str | None]:
    repo = LoopRepository(session, system_principal())
    recalls, cursor = await repo.recalls_page(PageParams(limit=min(params.limit, RECALLS_PER_PAGE), cursor=params.cursor))
    return recalls, await repo.recall_items([recall.id for recall in recalls]), cursor


@router.get("/internal/facts/recalls")
async def recall_vins(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    recalls, items, cursor = await _recall_page(session, params)
    by_id = {recall.id: recall for recall in recalls}
    payloads = []
    for (recall_id, dealer_code, org_path, added_at), group in groupby(
            items, key=lambda item: (item.recall_id, item.dealer_code, item.org_path, item.added_at)):
        event = events.recall_vin_assigned(by_id[recall_id], dealer_code, org_path, [item.vin for item in group], added_at)
        payloads.append(event.data)
    return {"items": payloads, "next_cursor": cursor}


@router.get("/internal/facts/recall-completions")
async def recall_completions(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    recalls, items, cursor = await _recall_page(session, params)
    by_id = {recall.id: recall for recall in recalls}
    return {"items": [events.recall_completed(by_id[item.recall_id], item).data for item in items
                      if item.completed_at is not None],
            "next_cursor": cursor}
