"""HTTP layer for recalls: issue one with its VINs, import more VINs in bulk, list them, progress up the tree."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.complaint import recalls
from services.complaint.deps import DirectoryDep, LoopReadRepo, LoopWriteRepo
from services.complaint.schemas import (RecallCreate, RecallImportRead, RecallProgressRead, RecallRead,
                                        RecallSummaryRead)
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["bulletins and recalls"])

RecallCode = Annotated[str, Path(min_length=1, max_length=40)]
IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "vin\nLFV3A23C7K3012345\n"},
    "application/x-ndjson": {"schema": {"type": "string"}, "example": '{"vin": "LFV3A23C7K3012345"}\n'},
}}}


@router.post("/v1/recalls", status_code=201, responses=problem_responses(401, 403, 409, 422))
async def create_recall(data: RecallCreate, repo: LoopWriteRepo) -> RecallRead:
    """Issue a recall (manufacturer): each affected VIN goes to its selling dealer, else its last servicing one."""
    return await recalls.create(repo, data)


@router.get("/v1/recalls", responses=problem_responses(400, 401, 403, 404, 422, 503))
async def list_recalls(repo: LoopReadRepo, directory: DirectoryDep, page: Annotated[PageParams, Depends(page_params)],
                       org_code: Annotated[str | None, Query(max_length=40, description="Default: yours")] = None,
                       ) -> Page[RecallSummaryRead]:
    """The recalls `org_code` (default: you) issued or that list a VIN of its subtree, oldest first,
    each with that subtree's affected and completed VINs, pooled as the progress is."""
    items, cursor = await recalls.listed(repo, directory, page, org_code)
    return Page(items=items, next_cursor=cursor)


@router.post("/v1/recalls/{recall_code}/vins/import", responses=problem_responses(401, 403, 404, 415, 422),
             openapi_extra=IMPORT_BODY)
async def import_recall_vins(recall_code: RecallCode, request: Request, repo: LoopWriteRepo) -> RecallImportRead:
    """Add affected VINs from CSV (first column, optional `vin` header) or JSON Lines (`{"vin": ...}`),
    up to 200,000 per request; VINs already listed are skipped. A bad line refuses the whole file (422)."""
    vins = recalls.parse_vins(request.headers.get("content-type"), await request.body())
    return await recalls.import_vins(repo, recall_code, vins)


@router.get("/v1/recalls/{recall_code}/progress", responses=problem_responses(401, 403, 404, 503))
async def recall_progress(recall_code: RecallCode, repo: LoopReadRepo, directory: DirectoryDep,
                          org_code: Annotated[str | None, Query(max_length=40, description="Default: yours")] = None,
                          ) -> RecallProgressRead:
    """Affected and completed VINs of `org_code`'s subtree (default: yours), pooled, and per dealer."""
    return await recalls.progress(repo, directory, recall_code, org_code)
