"""HTTP endpoints for prospects and follow-up tasks."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import AwareDatetime

from services.customer import followups
from services.customer.deps import DirectoryDep, PolicyDep, ReadRepo, WriteRepo
from services.customer.models import FollowUp, Prospect
from services.customer.privacy import PiiView
from services.customer.repository import CustomerRepository, FollowUpFilter
from services.customer.schemas import (
    FollowUpAssign, FollowUpAttemptCreate, FollowUpAttemptList, FollowUpAttemptRead, FollowUpComplete, FollowUpRead,
    ProspectCreate, ProspectRead, ProspectUpdate,
)
from shared.contracts.customer import FollowUpKind, FollowUpStatus
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
    status: FollowUpStatus | None = None,
    kind: FollowUpKind | None = None,
    due_before: AwareDatetime | None = None,
    customer_id: uuid.UUID | None = None,
    assignee: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$",
                                          description="A staff code: that agent's call list")] = None,
) -> FollowUpFilter:
    return FollowUpFilter(dealer_code=dealer_code, status=status, kind=kind, due_before=due_before, customer_id=customer_id,
                          assignee=assignee, updated_since=updated_since)


@router.get("/v1/follow-ups", responses=problem_responses(400, 401, 403, 422))
async def list_followups(
    repo: ReadRepo, where: Annotated[FollowUpFilter, Depends(_filter)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[FollowUpRead]:
    """List follow-up tasks, earliest due first: an agent's call list is
    `?assignee=CODE&status=open&due_before=END_OF_TODAY`. With `updated_since`, the delta feed."""
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


@router.post("/v1/follow-ups/{followup_id}/assign", responses=problem_responses(401, 403, 404, 409, 422))
async def assign_followup(followup_id: uuid.UUID, data: FollowUpAssign, repo: WriteRepo) -> FollowUpRead:
    """Put an open follow-up on a staff member's call list (publishes followup.assigned)."""
    return FollowUpRead.model_validate(await followups.assign_followup(repo, followup_id, data))


@router.post("/v1/follow-ups/{followup_id}/attempts", responses=problem_responses(401, 403, 404, 409, 422))
async def record_attempt(followup_id: uuid.UUID, data: FollowUpAttemptCreate, repo: WriteRepo,
                         policy: PolicyDep) -> FollowUpRead:
    """Record a call (or SMS, WeChat message, visit) made for an open follow-up; it is kept as an
    interaction too. Reached: the follow-up is done with the result (followup.completed), and a
    dissatisfied result publishes followup.issue_found, which opens a complaint. Not reached for
    the follow-up's max_attempts-th time: it is unreachable (followup.unreachable)."""
    return FollowUpRead.model_validate(await followups.record_attempt(repo, policy, followup_id, data))


@router.get("/v1/follow-ups/{followup_id}/attempts", responses=problem_responses(401, 403, 404))
async def list_attempts(followup_id: uuid.UUID, repo: ReadRepo) -> FollowUpAttemptList:
    """The attempts made for a follow-up, oldest first. Above the dealer a note (free text about
    the person) is withheld for a customer who does not share with the manufacturer."""
    followup, attempts = await followups.attempts_of(repo, followup_id)
    sharing = await repo.sharing_customers({followup.customer_id} if followup.customer_id else set())
    person = PiiView.of(repo.principal).shows_person(followup.org_path,
                                                     shares_with_manufacturer=followup.customer_id in sharing)
    return FollowUpAttemptList(items=[FollowUpAttemptRead(
        id=row.id, followup_id=row.followup_id, attempted_at=row.attempted_at, reached=row.reached,
        channel=row.channel, satisfaction=row.satisfaction, issue_codes=row.issue_codes or [],  # type: ignore[arg-type]
        note=row.note if person else None, agent=row.agent, interaction_id=row.interaction_id) for row in attempts])
