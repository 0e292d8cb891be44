"""HTTP endpoints for prospects and follow-up tasks."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import AwareDatetime

from services.customer import followups
from services.customer.deps import DirectoryDep, PolicyDep, ReadRepo, WriteRepo
from services.customer.models import FollowUp, Prospect
from services.customer.privacy import PiiView
from services.customer.repository import CustomerRepository, FollowUpFilter
from services.customer.schemas import FollowUpComplete, FollowUpRead, ProspectCreate, ProspectRead, ProspectUpdate
from shared.contracts.customer import FollowUpKind
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["follow-ups"])


def _shown(repo: CustomerRepository, response: Response, prospect: Prospect) -> ProspectRead:
    """The prospect as this caller may see it (privacy.PiiView), with its ETag."""
    response.headers["ETag"] = etag_for(prospect.version)
    return PiiView.of(repo.principal).prospect(prospect)


@router.post("/v1/prospects", status_code=201, responses=problem_responses(401, 403, 404, 422))
async def create_prospect(data: ProspectCreate, repo: WriteRepo, directory: DirectoryDep, response: Response) -> ProspectRead:
    """Record a prospect (A-card); its level sets the follow-up cadence."""
    prospect = await followups.create_prospect(repo, directory, data)
    response.headers["Location"] = f"/v1/prospects/{prospect.id}"
    return _shown(repo, response, prospect)


@router.get("/v1/prospects/{prospect_id}", responses=problem_responses(401, 403, 404))
async def get_prospect(prospect_id: uuid.UUID, repo: ReadRepo, response: Response) -> ProspectRead:
    """Read one prospect; the phone is masked without pii:read, and above the dealer (prospects
    give no consent to share) the name and phone are masked whatever the scopes."""
    return _shown(repo, response, await repo.get_visible(Prospect, prospect_id))


@router.patch("/v1/prospects/{prospect_id}", responses=problem_responses(401, 403, 404, 412, 422, 428))
async def update_prospect(
    prospect_id: uuid.UUID, data: ProspectUpdate, repo: WriteRepo, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ProspectRead:
    """Change a prospect, e.g. its level (If-Match)."""
    return _shown(repo, response, await followups.update_prospect(repo, prospect_id, data, if_match))


async def _filter(
    updated_since: UpdatedSince,
    dealer_code: Annotated[str | None, Query(max_length=40)] = None,
    status: Literal["open", "done", "cancelled"] | None = None,
    kind: FollowUpKind | None = None,
    due_before: AwareDatetime | None = None,
    customer_id: uuid.UUID | None = None,
) -> FollowUpFilter:
    return FollowUpFilter(dealer_code=dealer_code, status=status, kind=kind, due_before=due_before, customer_id=customer_id,
                          updated_since=updated_since)


@router.get("/v1/follow-ups", responses=problem_responses(400, 401, 403, 422))
async def list_followups(
    repo: ReadRepo, where: Annotated[FollowUpFilter, Depends(_filter)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[FollowUpRead]:
    """List follow-up tasks, e.g. the open ones due before a time."""
    rows, next_cursor = await repo.followups(where, page)
    return Page(items=[FollowUpRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/follow-ups/{followup_id}", responses=problem_responses(401, 403, 404))
async def get_followup(followup_id: uuid.UUID, repo: ReadRepo) -> FollowUpRead:
    """Read one follow-up task."""
    return FollowUpRead.model_validate(await repo.get_visible(FollowUp, followup_id, missing=f"No follow-up {followup_id}"))


@router.post("/v1/follow-ups/{followup_id}/complete", responses=problem_responses(401, 403, 404, 409, 422))
async def complete_followup(followup_id: uuid.UUID, data: FollowUpComplete, repo: WriteRepo, policy: PolicyDep) -> FollowUpRead:
    """Complete a follow-up with its outcome (publishes followup.completed)."""
    return FollowUpRead.model_validate(await followups.complete_followup(repo, policy, followup_id, data))
