"""HTTP layer for survey invitations."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from services.survey import invitations
from services.survey.deps import DirectoryDep, ReadRepo, SettingsDep, WriteRepo
from services.survey.repository import InvitationFilter
from services.survey.schemas import InvitationCreate, InvitationCreated, InvitationRead
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["survey invitations"])


@router.post("/v1/survey-invitations", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_invitation(data: InvitationCreate, repo: WriteRepo, directory: DirectoryDep,
                            settings: SettingsDep) -> InvitationCreated:
    """Invite a customer now; 409 with `reason` no_consent, fatigue or customer_erased when not allowed."""
    invitation = await invitations.create_invitation(repo, directory, settings, data)
    assert invitation.expires_at is not None
    return InvitationCreated(id=invitation.id, token=invitation.token,
                             url=invitations.url_for(settings, invitation.token), expires_at=invitation.expires_at)


@router.get("/v1/survey-invitations", responses=problem_responses(401, 403))
async def list_invitations(
    repo: ReadRepo, settings: SettingsDep, page: Annotated[PageParams, Depends(page_params)],
    survey_id: uuid.UUID | None = None, dealer_code: str | None = None, customer_id: uuid.UUID | None = None,
    status: Literal["scheduled", "sent", "responded", "cancelled"] | None = None,
) -> Page[InvitationRead]:
    """Invitations in your organisation's subtree, scheduled ones included."""
    where = InvitationFilter(survey_id=survey_id, dealer_code=dealer_code, customer_id=customer_id, status=status)
    rows, cursor = await invitations.list_invitations(repo, where, page)
    return Page(items=[invitations.to_read(row, settings) for row in rows], next_cursor=cursor)


@router.get("/v1/survey-invitations/{invitation_id}", responses=problem_responses(401, 403, 404))
async def get_invitation(invitation_id: uuid.UUID, repo: ReadRepo, settings: SettingsDep) -> InvitationRead:
    """One invitation (404 outside your organisation)."""
    return invitations.to_read(await invitations.get_invitation(repo, invitation_id), settings)
