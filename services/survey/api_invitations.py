"""HTTP layer for survey invitations."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response

from services.survey import invitations
from services.survey.deps import CustomersDep, DirectoryDep, ReadRepo, SettingsDep, WriteRepo
from services.survey.models import Invitation
from services.survey.repository import InvitationFilter
from services.survey.schemas import InvitationCreate, InvitationCreated, InvitationRead
from shared.auth import INTERNAL_HEADER
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["survey invitations"])


@router.post("/v1/survey-invitations", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_invitation(data: InvitationCreate, repo: WriteRepo, directory: DirectoryDep, customers: CustomersDep,
                            settings: SettingsDep, request: Request, response: Response) -> InvitationCreated:
    """Invite a customer of the named dealer now: 422 "unknown customer" for a customer id not known
    for that dealer in your subtree; 409 with `reason` no_consent, fatigue or customer_erased when not
    allowed. `token` and `url` are null when the survey is owned above you: its owner delivers the link."""
    # The caller's own token goes to the customer service, so its scope rules judge the customer.
    invitation, survey = await invitations.create_invitation(repo, directory, customers, settings, data,
                                                             request.headers[INTERNAL_HEADER])
    response.headers["Location"] = f"/v1/survey-invitations/{invitation.id}"
    return invitations.created(invitation, survey, settings, repo.principal)


@router.get("/v1/survey-invitations", responses=problem_responses(400, 401, 403, 422))
async def list_invitations(
    repo: ReadRepo, settings: SettingsDep, page: Annotated[PageParams, Depends(page_params)], updated_since: UpdatedSince,
    survey_id: uuid.UUID | None = None, dealer_code: str | None = None, customer_id: uuid.UUID | None = None,
    status: Literal["scheduled", "sent", "responded", "cancelled"] | None = None,
) -> Page[InvitationRead]:
    """Invitations in your organisation's subtree, scheduled ones included, oldest first (with `updated_since`,
    oldest change first); `url` is null for a survey owned above you."""
    where = InvitationFilter(survey_id=survey_id, dealer_code=dealer_code, customer_id=customer_id, status=status,
                             updated_since=updated_since)
    rows, cursor = await invitations.list_invitations(repo, where, page)
    return Page(items=await invitations.to_reads(repo, settings, rows), next_cursor=cursor)


@router.get("/v1/survey-invitations/{invitation_id}", responses=problem_responses(401, 403, 404))
async def get_invitation(invitation_id: uuid.UUID, repo: ReadRepo, settings: SettingsDep) -> InvitationRead:
    """One invitation (404 outside your organisation); `url` is null for a survey owned above you."""
    (read,) = await invitations.to_reads(repo, settings, [await repo.get_visible(Invitation, invitation_id)])
    return read
