"""HTTP endpoints for vehicles, deliveries and service visits."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.customer import vehicles
from services.customer.deps import DealerInPath, DirectoryDep, ReadRepo, RoNumberInPath, WriteRepo
from services.customer.models import ServiceVisit, Vehicle
from services.customer.schemas import (
    DeliveryCreate, DeliveryRead, ServiceVisitCreate, ServiceVisitRead, ServiceVisitUpdate, ServiceVisitUpsert,
    VehicleCreate, VehicleRead, VehicleUpsert,
)
from shared.etag import etag_for
from shared.pagination import Page, PageParams, UpdatedSince, page_params
from shared.problems import problem_responses
from shared.types import VIN

router = APIRouter(tags=["vehicles"])
PageDep = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="Optional on an upsert: when sent, a stale ETag is a 412")]


def _upsert_responses(model: type) -> dict[int | str, dict]:
    """An upsert's answers: 201 with Location on create, 200 on replace, each with the ETag."""
    etag = {"ETag": {"schema": {"type": "string"}}}
    return {**problem_responses(401, 403, 404, 409, 412, 422), 200: {"description": "Replaced", "headers": etag},
            201: {"description": "Created", "model": model, "headers": {**etag, "Location": {"schema": {"type": "string"}}}}}


def _upserted(response: Response, row: Vehicle | ServiceVisit, created: bool, location: str) -> None:
    response.headers["ETag"] = etag_for(row.version)
    if created:
        response.status_code = 201
        response.headers["Location"] = location


@router.post("/v1/vehicles", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_vehicle(data: VehicleCreate, repo: WriteRepo, directory: DirectoryDep, response: Response) -> VehicleRead:
    """Put a vehicle on a dealer's file."""
    vehicle = await vehicles.create_vehicle(repo, directory, data)
    response.headers["ETag"] = etag_for(vehicle.version)
    response.headers["Location"] = f"/v1/vehicles/{vehicle.vin}"
    return VehicleRead.model_validate(vehicle)


@router.get("/v1/vehicles", responses=problem_responses(401, 403, 422))
async def list_vehicles(
    repo: ReadRepo, page: PageDep, updated_since: UpdatedSince, owner_customer_id: uuid.UUID | None = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Same as owner_customer_id")] = None,
) -> Page[VehicleRead]:
    """List vehicles, optionally those a customer owns."""
    rows, next_cursor = await repo.vehicles(owner_customer_id or customer_id, page, updated_since)
    return Page(items=[VehicleRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/vehicles/{vin}", responses=problem_responses(401, 403, 404))
async def get_vehicle(vin: str, repo: ReadRepo, response: Response) -> VehicleRead:
    """Read a vehicle by VIN."""
    vehicle = await vehicles.get_vehicle(repo, vin)
    response.headers["ETag"] = etag_for(vehicle.version)
    return VehicleRead.model_validate(vehicle)


@router.put("/v1/vehicles/by-vin/{dealer_code}/{vin}", responses=_upsert_responses(VehicleRead))
async def upsert_dealer_vehicle(
    dealer_code: DealerInPath, vin: VIN, data: VehicleUpsert, repo: WriteRepo, directory: DirectoryDep,
    response: Response, if_match: IfMatch = None,
) -> VehicleRead:
    """Create (201) or replace (200) a dealer's file of a VIN; If-Match optional."""
    vehicle, created = await vehicles.upsert_vehicle(repo, directory, dealer_code, vin, data, if_match)
    _upserted(response, vehicle, created, f"/v1/vehicles/{vehicle.vin}")
    return VehicleRead.model_validate(vehicle)


@router.put("/v1/vehicles/{vin}", responses=_upsert_responses(VehicleRead))
async def upsert_own_vehicle(vin: VIN, data: VehicleUpsert, repo: WriteRepo, directory: DirectoryDep,
                             response: Response, if_match: IfMatch = None) -> VehicleRead:
    """Create (201) or replace (200) the caller's own dealer's file of a VIN: a dealer's key only
    (above the dealer, 422: use /v1/vehicles/by-vin/{dealer_code}/{vin}); If-Match optional."""
    vehicle, created = await vehicles.upsert_vehicle(repo, directory, None, vin, data, if_match)
    _upserted(response, vehicle, created, f"/v1/vehicles/{vehicle.vin}")
    return VehicleRead.model_validate(vehicle)


@router.post("/v1/deliveries", status_code=201, responses=problem_responses(401, 403, 404, 422))
async def create_delivery(data: DeliveryCreate, repo: WriteRepo, directory: DirectoryDep) -> DeliveryRead:
    """Record a new-car delivery (publishes vehicle.delivered)."""
    return DeliveryRead.model_validate(await vehicles.create_delivery(repo, directory, data))


@router.post("/v1/service-visits", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_visit(data: ServiceVisitCreate, repo: WriteRepo, directory: DirectoryDep, response: Response) -> ServiceVisitRead:
    """Record a repair order (publishes service_visit.closed when it is closed)."""
    visit = await vehicles.create_visit(repo, directory, data)
    response.headers["ETag"] = etag_for(visit.version)
    response.headers["Location"] = f"/v1/service-visits/{visit.id}"
    return ServiceVisitRead.model_validate(visit)


@router.get("/v1/service-visits", responses=problem_responses(401, 403, 422))
async def list_visits(
    repo: ReadRepo, page: PageDep, updated_since: UpdatedSince, customer_id: uuid.UUID | None = None,
    vin: Annotated[str | None, Query(max_length=17)] = None,
) -> Page[ServiceVisitRead]:
    """List service visits, optionally of one customer or VIN."""
    rows, next_cursor = await repo.visits(customer_id, vin.strip().upper() if vin else None, page, updated_since)
    return Page(items=[ServiceVisitRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.put("/v1/service-visits/by-ro/{dealer_code}/{ro_number}", responses=_upsert_responses(ServiceVisitRead))
async def upsert_visit(
    dealer_code: DealerInPath, ro_number: RoNumberInPath, data: ServiceVisitUpsert, repo: WriteRepo,
    directory: DirectoryDep, response: Response, if_match: IfMatch = None,
) -> ServiceVisitRead:
    """Create (201) or replace (200) a repair order by its RO number; If-Match optional. The first
    close publishes service_visit.closed; a change to a closed visit, service_visit.updated."""
    visit, created = await vehicles.upsert_visit(repo, directory, dealer_code, ro_number, data, if_match)
    _upserted(response, visit, created, f"/v1/service-visits/{visit.id}")
    return ServiceVisitRead.model_validate(visit)


@router.get("/v1/service-visits/{visit_id}", responses=problem_responses(401, 403, 404))
async def get_visit(visit_id: uuid.UUID, repo: ReadRepo, response: Response) -> ServiceVisitRead:
    """Read one service visit."""
    visit = await repo.get_visible(ServiceVisit, visit_id)
    response.headers["ETag"] = etag_for(visit.version)
    return ServiceVisitRead.model_validate(visit)


@router.patch("/v1/service-visits/{visit_id}", responses=problem_responses(401, 403, 404, 412, 422, 428))
async def update_visit(
    visit_id: uuid.UUID, data: ServiceVisitUpdate, repo: WriteRepo, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ServiceVisitRead:
    """Change a service visit, e.g. close it (If-Match). The first close publishes
    service_visit.closed; a change to a closed visit, service_visit.updated; a closed visit stays
    closed (closed_at may move, not go: 422)."""
    visit = await vehicles.update_visit(repo, visit_id, data, if_match)
    response.headers["ETag"] = etag_for(visit.version)
    return ServiceVisitRead.model_validate(visit)
