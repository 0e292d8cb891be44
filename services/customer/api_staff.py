"""HTTP endpoints of a dealer's staff: the people deliveries, visits and calls name by code.

`POST /internal/staff/known`: which of the staff codes a survey invitation or an imported survey
result names are the dealer's, asked by the survey service with its caller's internal token, so
the caller's subtree bounds the answer (a dealer outside it knows nobody). No scope beyond a
valid token, as /internal/references: the answer says no more than the write's 422 would."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.customer import staff
from services.customer.deps import DirectoryDep, ReadRepo, WriteRepo
from services.customer.models import Staff
from services.customer.repository import CustomerRepository
from services.customer.schemas import StaffCode, StaffCreate, StaffRead, StaffUpdate
from shared.auth import CurrentPrincipal
from shared.contracts.customer import StaffRole
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses
from shared.service_app import SessionDep
from shared.types import OrgCode

router = APIRouter(tags=["staff"])
internal = APIRouter(prefix="/internal", include_in_schema=False)


def _shown(response: Response, member: Staff) -> StaffRead:
    response.headers["ETag"] = etag_for(member.version)
    return StaffRead.model_validate(member)


@router.post("/v1/staff", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_staff(data: StaffCreate, repo: WriteRepo, directory: DirectoryDep, response: Response) -> StaffRead:
    """Add a staff member to a dealer (the dealer itself or an org above it). The code is unique
    within the dealer, retired codes included: a taken one is a 409."""
    member = await staff.create_staff(repo, directory, data)
    response.headers["Location"] = f"/v1/staff/{member.id}"
    return _shown(response, member)


@router.get("/v1/staff", responses=problem_responses(400, 401, 403, 422))
async def list_staff(
    repo: ReadRepo, page: Annotated[PageParams, Depends(page_params)], updated_since: UpdatedSince,
    dealer_code: Annotated[str | None, Query(max_length=40)] = None, role: StaffRole | None = None,
    active: Annotated[bool | None, Query(description="true: only those who may take new work")] = None,
) -> Page[StaffRead]:
    """The staff of the dealers in your subtree, retired ones included unless `active=true`."""
    rows, next_cursor = await repo.staff(page, updated_since, dealer_code=dealer_code, role=role, active=active)
    return Page(items=[StaffRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/staff/{staff_id}", responses=problem_responses(401, 403, 404))
async def get_staff(staff_id: uuid.UUID, repo: ReadRepo, response: Response) -> StaffRead:
    """Read one staff member."""
    return _shown(response, await repo.get_visible(Staff, staff_id, missing=f"No staff member {staff_id}"))


@router.patch("/v1/staff/{staff_id}", responses=problem_responses(401, 403, 404, 412, 422, 428))
async def update_staff(
    staff_id: uuid.UUID, data: StaffUpdate, repo: WriteRepo, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> StaffRead:
    """Rename, change the role, or retire (`active: false`) a staff member (If-Match). A retired
    code stays on the records that name it and may not be named by new ones."""
    return _shown(response, await staff.update_staff(repo, staff_id, data, if_match))


class StaffCodesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dealer_code: OrgCode
    # The survey service asks in batches of this size (services/survey/customer_source.py).
    codes: list[StaffCode] = Field(max_length=500)


class StaffCodesKnown(BaseModel):
    known: list[str]


@internal.post("/staff/known")
async def known_staff(data: StaffCodesIn, session: SessionDep, principal: CurrentPrincipal) -> StaffCodesKnown:
    repo = CustomerRepository(session, principal)
    return StaffCodesKnown(known=await staff.known_codes(repo, data.dealer_code, data.codes))
