"""HTTP layer for complaint cases: open, list, read, assign, move, comment, escalate, resolve."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from services.complaint import cases, workflow
from services.complaint.domain import Category, Status
from services.complaint.deps import DirectoryDep, ReadRepo, ReferencesDep, SettingsDep, WriteRepo
from services.complaint.models import Complaint
from services.complaint.repository import ComplaintFilter, ComplaintRepository
from services.complaint.schemas import (CommentIn, ComplaintCreate, ComplaintRead, ComplaintUpdate, EscalateIn,
                                        ResolutionIn, TransitionIn)
from shared.auth import INTERNAL_HEADER
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["complaints"])

IfMatch = Annotated[str | None, Header()]
CHANGE_PROBLEMS = problem_responses(401, 403, 404, 409, 412, 422, 428)


async def complaint_filter(updated_since: UpdatedSince, status: Status | None = None, dealer_code: str | None = None,
                           breached: bool | None = None, category: Category | None = None,
                           customer_id: uuid.UUID | None = None) -> ComplaintFilter:
    return ComplaintFilter(status=status, dealer_code=dealer_code, breached=breached, category=category,
                           customer_id=customer_id, updated_since=updated_since)


async def _changed(repo: ComplaintRepository, case: Complaint, response: Response) -> ComplaintRead:
    """A changed case as the caller now sees it, timeline included, with its new ETag."""
    response.headers["ETag"] = etag_for(case.version)
    return cases.to_read(case, await repo.timeline(case.id))


@router.post("/v1/complaints", status_code=201, responses=problem_responses(401, 403, 409, 422, 503))
async def open_complaint(data: ComplaintCreate, repo: WriteRepo, directory: DirectoryDep, references: ReferencesDep,
                         settings: SettingsDep, request: Request, response: Response) -> ComplaintRead:
    """Open a case for a dealer; due times follow the SLA policy, a P1 goes up one level at once.

    The dealer, customer, vehicle (VIN), visit (RO) and survey response must be records of the
    named dealer in your reach: otherwise 422 `unknown <kind>`, whichever way they are not.
    """
    # The caller's own token goes to the source services, so their scope rules judge the references.
    case = await cases.open_for_caller(repo, directory, references, settings, data, request.headers[INTERNAL_HEADER])
    response.headers["Location"] = f"/v1/complaints/{case.id}"
    return await _changed(repo, case, response)


@router.get("/v1/complaints", responses=problem_responses(400, 401, 403, 422))
async def list_complaints(repo: ReadRepo, where: Annotated[ComplaintFilter, Depends(complaint_filter)],
                          page: Annotated[PageParams, Depends(page_params)]) -> Page[ComplaintRead]:
    """Cases in your organisation's subtree, oldest first (without timelines); with `updated_since`,
    the cases changed since, oldest change first."""
    rows, cursor = await cases.list_cases(repo, where, page)
    return Page(items=[cases.to_read(row) for row in rows], next_cursor=cursor)


@router.get("/v1/complaints/{complaint_id}", responses=problem_responses(401, 403, 404))
async def get_complaint(complaint_id: uuid.UUID, repo: ReadRepo, response: Response) -> ComplaintRead:
    """One case with its timeline; the ETag is what changes send back in If-Match."""
    case = await cases.read_case(repo, complaint_id)
    response.headers["ETag"] = etag_for(case.version)
    return case


@router.patch("/v1/complaints/{complaint_id}", responses=CHANGE_PROBLEMS)
async def update_complaint(complaint_id: uuid.UUID, data: ComplaintUpdate, repo: WriteRepo, response: Response,
                           if_match: IfMatch = None) -> ComplaintRead:
    """Assign the case (If-Match)."""
    return await _changed(repo, await cases.update_case(repo, complaint_id, data, if_match), response)


@router.post("/v1/complaints/{complaint_id}/transitions", responses=CHANGE_PROBLEMS)
async def transition_complaint(complaint_id: uuid.UUID, data: TransitionIn, repo: WriteRepo, response: Response,
                               if_match: IfMatch = None) -> ComplaintRead:
    """Move the case (If-Match); an illegal move is a 409 that lists the allowed ones.

    Only the handling organisation (`handling_org_code`) and those above it move a case: after
    an escalation the dealer below gets 403 with `handling_org_code` (it may still comment).
    """
    return await _changed(repo, await workflow.transition(repo, complaint_id, data, if_match), response)


@router.post("/v1/complaints/{complaint_id}/comments", status_code=201, responses=CHANGE_PROBLEMS)
async def comment_complaint(complaint_id: uuid.UUID, data: CommentIn, repo: WriteRepo, response: Response,
                            if_match: IfMatch = None) -> ComplaintRead:
    """Add a comment to the timeline (If-Match)."""
    return await _changed(repo, await cases.comment(repo, complaint_id, data.text, if_match), response)


@router.post("/v1/complaints/{complaint_id}/escalate", responses=CHANGE_PROBLEMS)
async def escalate_complaint(complaint_id: uuid.UUID, data: EscalateIn, repo: WriteRepo, directory: DirectoryDep,
                             response: Response, if_match: IfMatch = None) -> ComplaintRead:
    """Hand the case to the next level up (dealer -> distributor -> manufacturer), with a reason (If-Match).

    The handling organisation's move (or one above it's): anyone below it gets 403 with `handling_org_code`.
    """
    case = await cases.escalate(repo, directory, complaint_id, data.reason, if_match)
    return await _changed(repo, case, response)


@router.put("/v1/complaints/{complaint_id}/resolution", responses=CHANGE_PROBLEMS)
async def put_resolution(complaint_id: uuid.UUID, data: ResolutionIn, repo: WriteRepo, response: Response,
                         if_match: IfMatch = None) -> ComplaintRead:
    """Record how the case was resolved: root cause, actions, compensation, corrective action, customer's answer.

    The handling organisation's record (or one above it's): anyone below it gets 403 with `handling_org_code`.
    """
    case = await workflow.record_resolution(repo, complaint_id, data, if_match)
    return await _changed(repo, case, response)
