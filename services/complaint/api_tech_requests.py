"""HTTP layer for technical requests: ask, list, read, answer, escalate, close."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from services.complaint import tech_requests
from services.complaint.deps import DirectoryDep, ReadRepo, SettingsDep, WriteRepo
from services.complaint.domain import TechRequestStatus
from services.complaint.models import TechRequest
from services.complaint.repository import ComplaintRepository, TechRequestFilter
from services.complaint.schemas import TechRequestAnswerIn, TechRequestCreate, TechRequestEscalateIn, TechRequestRead
from shared.etag import etag_for
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["technical requests"])

IfMatch = Annotated[str | None, Header()]
CHANGE_PROBLEMS = problem_responses(401, 403, 404, 409, 412, 422, 428)


async def tech_request_filter(status: TechRequestStatus | None = None,
                              dealer_code: str | None = None) -> TechRequestFilter:
    return TechRequestFilter(status=status, dealer_code=dealer_code)


async def _changed(repo: ComplaintRepository, request: TechRequest, response: Response) -> TechRequestRead:
    """A changed request as the caller now sees it, timeline included, with its new ETag."""
    response.headers["ETag"] = etag_for(request.version)
    return tech_requests.to_read(request, await repo.tech_request_timeline(request.id))


@router.post("/v1/tech-requests", status_code=201, responses=problem_responses(401, 403, 409, 422, 503))
async def open_tech_request(data: TechRequestCreate, repo: WriteRepo, directory: DirectoryDep, settings: SettingsDep,
                            response: Response) -> TechRequestRead:
    """A dealer asks a technical question about a vehicle (VIN) with its symptom codes.

    The dealer's distributor's technical team owes the answer by `answer_due`: the answer SLA of
    the priority in business hours on the dealer's SLA calendar. A dealer you may not act for
    (a sibling's, say) is a 422 `unknown dealer`.
    """
    request = await tech_requests.open_request(repo, directory, settings, data)
    response.headers["Location"] = f"/v1/tech-requests/{request.id}"
    return await _changed(repo, request, response)


@router.get("/v1/tech-requests", responses=problem_responses(400, 401, 403, 422))
async def list_tech_requests(repo: ReadRepo, where: Annotated[TechRequestFilter, Depends(tech_request_filter)],
                             page: Annotated[PageParams, Depends(page_params)]) -> Page[TechRequestRead]:
    """Technical requests of the dealers in your subtree, oldest first (without timelines)."""
    rows, cursor = await tech_requests.listed(repo, where, page)
    return Page(items=[tech_requests.to_read(row) for row in rows], next_cursor=cursor)


@router.get("/v1/tech-requests/{tech_request_id}", responses=problem_responses(401, 403, 404))
async def get_tech_request(tech_request_id: uuid.UUID, repo: ReadRepo, response: Response) -> TechRequestRead:
    """One request with its timeline (opened, answered, escalated, breached, closed); the ETag is
    what changes send back in If-Match."""
    request = await tech_requests.read(repo, tech_request_id)
    response.headers["ETag"] = etag_for(request.version)
    return request


@router.post("/v1/tech-requests/{tech_request_id}/answers", status_code=201, responses=CHANGE_PROBLEMS)
async def answer_tech_request(tech_request_id: uuid.UUID, data: TechRequestAnswerIn, repo: WriteRepo,
                              response: Response, if_match: IfMatch = None) -> TechRequestRead:
    """Answer the request (If-Match): the handling team's, or a team above it's (403 with
    `handling_org_code` for anyone else, the dealer included); a closed request is a 409."""
    return await _changed(repo, await tech_requests.answer(repo, tech_request_id, data.body, if_match), response)


@router.post("/v1/tech-requests/{tech_request_id}/escalate", responses=CHANGE_PROBLEMS)
async def escalate_tech_request(tech_request_id: uuid.UUID, data: TechRequestEscalateIn, repo: WriteRepo,
                                directory: DirectoryDep, response: Response,
                                if_match: IfMatch = None) -> TechRequestRead:
    """Hand the request to the next technical team up, with a reason (If-Match), and a new `answer_due`.

    The dealer may (an answered request opens again: the answer did not solve it), and so may
    the teams that may answer; closed, or at the top of the tree: 409.
    """
    request = await tech_requests.escalate(repo, directory, tech_request_id, data.reason, if_match)
    return await _changed(repo, request, response)


@router.post("/v1/tech-requests/{tech_request_id}/close", responses=CHANGE_PROBLEMS)
async def close_tech_request(tech_request_id: uuid.UUID, repo: WriteRepo, response: Response,
                             if_match: IfMatch = None) -> TechRequestRead:
    """The dealer that asked closes its answered request (If-Match); anyone else: 403; not answered yet: 409."""
    return await _changed(repo, await tech_requests.close(repo, tech_request_id, if_match), response)
