"""HTTP layer for SLA policies and quality signals."""

from typing import Annotated

from fastapi import APIRouter, Depends

from services.complaint.sla import policies
from services.complaint.deps import DirectoryDep, ReadRepo, WriteRepo
from services.complaint.schemas import QualitySignalRead, SlaPoliciesPut, SlaPoliciesRead
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["complaint SLA and quality"])


@router.get("/v1/complaint-sla-policies", responses=problem_responses(401, 403, 404))
async def get_policies(repo: ReadRepo, directory: DirectoryDep, dealer_code: str | None = None) -> SlaPoliciesRead:
    """The policy per priority that governs new cases of your org (or of `dealer_code`), and where it was set."""
    path = (await directory.dealer_for(repo.principal, dealer_code, in_query=True)).path if dealer_code else repo.principal.org_path
    return await policies.effective_policies(repo, path)


@router.put("/v1/complaint-sla-policies", responses=problem_responses(401, 403, 404, 422))
async def put_policies(data: SlaPoliciesPut, repo: WriteRepo, directory: DirectoryDep) -> SlaPoliciesRead:
    """Set the policies of your org's subtree, or of one dealer in it (manufacturer and distributors only)."""
    if data.dealer_code:
        dealer = await directory.dealer_for(repo.principal, data.dealer_code)
        return await policies.save_policies(repo, data, dealer.code, dealer.path)
    return await policies.save_policies(repo, data, repo.principal.org_code, repo.principal.org_path)


@router.get("/v1/quality-signals", responses=problem_responses(401, 403))
async def list_signals(repo: ReadRepo, page: Annotated[PageParams, Depends(page_params)]) -> Page[QualitySignalRead]:
    """Product-quality signals whose cases lie in your subtree: one model and symptom from several dealers."""
    rows, cursor = await repo.signals(page)
    return Page(items=[QualitySignalRead.model_validate(row, from_attributes=True) for row in rows], next_cursor=cursor)
