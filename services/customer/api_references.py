"""What another service asks about the records its caller names, under that caller's scope.

`POST /internal/references`: do the customer, vehicle and visit a write names belong to its dealer?
`GET /internal/customers/{id}/survey-consent`: the survey consent of a customer named before its
`customer.created` event reached the survey service (create, then invite, in the next call).
`GET /internal/staff/{dealer_code}/{code}`: a staff member an improvement plan names as an action's
owner before its `staff.changed` reached the KPI service (as staff.changed would carry it).

Another service (complaints) forwards its caller's internal token, so the lookups run under
the caller's scope: a record of another subtree is as unknown as one that never existed.
Every lookup runs whatever the others found, so the answer takes the same path (and time)
for an unknown, an invisible and another dealer's record. No scope beyond a valid token: the
caller's own write (`complaints:write`) is what entitles it to name these records, and the
answer says no more than that write's 422 would. Not in the public OpenAPI; the gateway
routes no `/internal` path.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.customer.models import Customer
from services.customer.repository import CustomerRepository
from shared.auth import CurrentPrincipal
from shared.contracts.customer import StaffChanged, SurveyConsentRecord
from shared.problems import NotFound
from shared.service_app import SessionDep

router = APIRouter(prefix="/internal", include_in_schema=False)
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ReferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dealer_code: Code
    customer_id: uuid.UUID | None = None
    vin: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    ro_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None


class ReferencesOut(BaseModel):
    """One `{field, message: "unknown <kind>"}` per reference that does not hold; empty when all do."""

    errors: list[dict[str, str]]


async def _repo(session: SessionDep, principal: CurrentPrincipal) -> CustomerRepository:
    return CustomerRepository(session, principal)


@router.post("/references")
async def check_references(data: ReferencesIn, repo: Annotated[CustomerRepository, Depends(_repo)]) -> ReferencesOut:
    return ReferencesOut(errors=await repo.unknown_references(data.dealer_code, data.customer_id, data.vin,
                                                              data.ro_number))


@router.get("/customers/{customer_id}/survey-consent")
async def survey_consent(customer_id: uuid.UUID, repo: Annotated[CustomerRepository, Depends(_repo)]) -> SurveyConsentRecord:
    customer = await repo.get_visible(Customer, customer_id)
    return SurveyConsentRecord(customer_id=customer.id, dealer_code=customer.dealer_code, org_path=customer.org_path,
                               survey=customer.consent_survey, erased=customer.erased_at is not None)


@router.get("/staff/{dealer_code}/{code}")
async def staff_member(dealer_code: Annotated[str, Path(max_length=40)], code: Annotated[str, Path(max_length=100)],
                       repo: Annotated[CustomerRepository, Depends(_repo)]) -> StaffChanged:
    member = await repo.staff_with_code(dealer_code, code)
    if member is None:
        raise NotFound(f"No staff member {code} at {dealer_code}")
    return StaffChanged(dealer_code=member.dealer_code, org_path=member.org_path, staff_id=member.id, code=member.code,
                        name=member.name, role=member.role, active=member.active, version=member.version)
