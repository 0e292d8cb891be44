"""HTTP endpoints for vehicles, deliveries and service visits."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.customer import vehicles
from services.customer.deps import DirectoryDep, ReadRepo, WriteRepo
from services.customer.models import ServiceVisit
from services.customer.schemas import (
    DeliveryCreate, DeliveryRead, ServiceVisitCreate, ServiceVisitRead, ServiceVisitUpdate, VehicleCreate, VehicleRead,
)
from shared.etag import etag_for
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(tags=["vehicles"])
PageDep = Annotated[PageParams, Depends(page_params)]


@router.post("/v1/vehicles", status_code=201, responses=problem_responses(401, 403, 404, 409, 422))
async def create_vehicle(data: VehicleCreate, repo: WriteRepo, directory: DirectoryDep, response: Response) -> VehicleRead:
    """Put a vehicle on a dealer's file."""
    vehicle = await vehicles.create_vehicle(repo, directory, data)
    response.headers["ETag"] = etag_for(vehicle.version)
    response.headers["Location"] = f"/v1/vehicles/{vehicle.vin}"
    return VehicleRead.model_validate(vehicle)


@router.get("/v1/vehicles", responses=problem_responses(401, 403, 422))
async def list_vehicles(
    repo: ReadRepo, page: PageDep, owner_customer_id: uuid.UUID | None = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Same as owner_customer_id")] = None,
) -> Page[VehicleRead]:
    """List vehicles, optionally those a customer owns."""
    rows, next_cursor = await repo.vehicles(owner_customer_id or customer_id, page)
    return Page(items=[VehicleRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/vehicles/{vin}", responses=problem_responses(401, 403, 404))
async def get_vehicle(vin: str, repo: ReadRepo, response: Response) -> VehicleRead:
    """Read a vehicle by VIN."""
    vehicle = await vehicles.get_vehicle(repo, vin)
    response.headers["ETag"] = etag_for(vehicle.version)
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
    repo: ReadRepo, page: PageDep, customer_id: uuid.UUID | None = None,
    vin: Annotated[str | None, Query(max_length=17)] = None,
) -> Page[ServiceVisitRead]:
    """List service visits, optionally of one customer or VIN."""
    rows, next_cursor = await repo.visits(customer_id, vin.strip().upper() if vin else None, page)
    return Page(items=[ServiceVisitRead.model_validate(row) for row in rows], next_cursor=next_cursor)


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
    """Change a service visit, e.g. close it (If-Match)."""
    visit = await vehicles.update_visit(repo, visit_id, data, if_match)
    response.headers["ETag"] = etag_for(visit.version)
    return ServiceVisitRead.model_validate(visit)
