"""HTTP endpoints for customers: parse, authorise, call the use case, shape the response."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.exc import IntegrityError

from services.customer import customers, importer
from services.customer.deps import DealerInPath, DirectoryDep, ExternalIdInPath, ReadRepo, SettingsDep, WriteRepo
from services.customer.models import Customer
from services.customer.privacy import PiiView
from services.customer.repository import CustomerFilter, CustomerRepository
from services.customer.schemas import (
    CustomerCreate, CustomerRead, CustomerTombstone, CustomerUpdate, CustomerUpsert, ImportResult, Segment,
)
from shared.contracts.customer import Lifecycle
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import BadRequest, Conflict, problem_responses
from shared.service_app import json_response, scoped_repository
from shared.types import OrgCode, normalise_phone

router = APIRouter(prefix="/v1/customers", tags=["customers"])


async def _shown(repo: CustomerRepository, response: Response, customer: Customer) -> CustomerRead:
    """The customer as this caller may see it (privacy.PiiView), with its ETag."""
    response.headers["ETag"] = etag_for(customer.version)
    standing = (await repo.standings_of([customer.id])).get(customer.id)
    return PiiView.of(repo.principal).customer(customer, standing)


@router.post("", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_customer(data: CustomerCreate, repo: WriteRepo, directory: DirectoryDep, response: Response) -> CustomerRead:
    """Create a customer of a dealer."""
    customer = await customers.create_customer(repo, directory, data)
    response.headers["Location"] = f"/v1/customers/{customer.id}"
    return await _shown(repo, response, customer)


async def _filter(
    updated_since: UpdatedSince,
    q: Annotated[str | None, Query(max_length=100)] = None,
    phone: Annotated[str | None, Query(max_length=30)] = None,
    vin: Annotated[str | None, Query(max_length=17)] = None,
    dealer_code: Annotated[str | None, Query(max_length=40)] = None,
    lifecycle: Annotated[Lifecycle | None, Query(description="prospect, active, at_risk, lapsed or won_back")] = None,
    segment: Annotated[Segment | None, Query(description="champion, loyal, new, at_risk, hibernating or regular")] = None,
) -> CustomerFilter:
    if phone:
        try:
            phone = normalise_phone(phone)
        except ValueError as exc:
            raise BadRequest("Not a phone number", errors=[{"field": "phone", "message": str(exc)}]) from exc
    return CustomerFilter(q=q or None, phone=phone, vin=vin.strip().upper() if vin else None, dealer_code=dealer_code,
                          updated_since=updated_since, lifecycle=lifecycle, segment=segment)


@router.get("", responses=problem_responses(400, 401, 403, 422))
async def list_customers(
    repo: ReadRepo, where: Annotated[CustomerFilter, Depends(_filter)],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[CustomerRead | CustomerTombstone]:
    """List customers, masked as every read is (see GET one); from above the dealer, `phone`, `q`,
    `lifecycle` and `segment` never match a customer who does not share with the manufacturer. Items are customers;
    only with `updated_since` is an erased customer a tombstone (`deleted: true`)."""
    rows, next_cursor = await repo.customers(where, page)
    view = PiiView.of(repo.principal)
    feed = where.updated_since is not None
    standings = await repo.standings_of([row.id for row in rows])
    return Page(items=[_tombstone(row) if feed and row.erased_at else view.customer(row, standings.get(row.id))
                       for row in rows],
                next_cursor=next_cursor)


def _tombstone(customer: Customer) -> CustomerTombstone:
    return CustomerTombstone(id=customer.id, dealer_code=customer.dealer_code, updated_at=customer.updated_at)


UPSERT_RESPONSES = {
    **problem_responses(401, 403, 404, 409, 412, 422),
    200: {"description": "Replaced", "headers": {"ETag": {"schema": {"type": "string"}}}},
    201: {"description": "Created", "model": CustomerRead, "headers": {
        "ETag": {"schema": {"type": "string"}}, "Location": {"schema": {"type": "string"}}}},
}


@router.put("/by-external-id/{dealer_code}/{external_id}", responses=UPSERT_RESPONSES)
async def upsert_customer(
    dealer_code: DealerInPath, external_id: ExternalIdInPath, data: CustomerUpsert,
    repo: WriteRepo, directory: DirectoryDep, response: Response, if_match: Annotated[str | None, Header()] = None,
) -> CustomerRead:
    """Create (201) or replace (200) a dealer's customer by its external id; If-Match optional.
    A replace keeps the consent values the body leaves out."""
    customer, created = await customers.upsert_customer(repo, directory, dealer_code, external_id, data, if_match)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/v1/customers/{customer.id}"
    return await _shown(repo, response, customer)


IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"},
                 "example": "external_id,name,phone,city,consent_survey\nDMS-10023,Wang Fang,+8613800138000,Shanghai,true\n"},
    "application/x-ndjson": {"schema": {"type": "string"},
                             "example": '{"external_id": "DMS-10023", "name": "Wang Fang", "phone": "+8613800138000"}\n'},
}}}


@router.post("/import", responses=problem_responses(401, 403, 404, 409, 413, 415, 422), openapi_extra=IMPORT_BODY)
async def import_customers(
    request: Request, dealer_code: Annotated[OrgCode, Query()], repo: WriteRepo, directory: DirectoryDep,
    settings: SettingsDep,
) -> ImportResult:
    """Import customers from CSV or JSON Lines, upserting by (dealer_code, external_id)."""
    kind = importer.media_type(request.headers.get("content-type"))
    dealer = await directory.dealer_for(repo.principal, dealer_code, in_query=True)
    async with importer.spooled(request.stream(), settings.import_max_bytes) as body:
        try:
            outcome = await importer.import_customers(repo, dealer, kind, body, settings.import_batch_rows,
                                                      PiiView.of(repo.principal))
        except IntegrityError as exc:
            raise Conflict("Another write to this dealer's customers ran at the same time; send the file again") from exc
    return ImportResult.model_validate(outcome, from_attributes=True)


@router.get("/{customer_id}", response_model=CustomerRead, responses=problem_responses(401, 403, 404))
async def get_customer(customer_id: uuid.UUID, request: Request) -> Response:
    """Read one customer. Phone and email are masked without the pii:read scope; above the
    dealer, a customer who does not share with the manufacturer shows only a first character
    of the name, masked contacts, no birth date and no lifecycle or value, whatever the scopes.
    `lifecycle` and `value`: where the customer stands with the dealer (issue 16)."""
    # The hottest read: the repository opened here and the body rendered once (see
    # shared.service_app.scoped_repository and json_response); the same scope wall and masking.
    async with scoped_repository(request, CustomerRepository, "customers:read") as repo:
        row = await repo.read_customer(customer_id)
    return json_response(PiiView.of(repo.principal).customer(row, row), {"ETag": etag_for(row.version)})


@router.patch("/{customer_id}", responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
async def update_customer(
    customer_id: uuid.UUID, data: CustomerUpdate, repo: WriteRepo, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CustomerRead:
    """Change a customer (send If-Match with the ETag you read)."""
    customer = await customers.update_customer(repo, customer_id, data, if_match)
    return await _shown(repo, response, customer)


@router.post("/{customer_id}/erase", responses=problem_responses(401, 403, 404))
async def erase_customer(customer_id: uuid.UUID, repo: WriteRepo, response: Response) -> CustomerRead:
    """Erase a customer's personal data (PIPL/GDPR); the id and non-personal facts stay."""
    return await _shown(repo, response, await customers.erase_customer(repo, customer_id))
