"""Bulk imports of vehicles, deliveries and service visits (CSV or JSON Lines; see fact_import)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.customer import fact_import, importer
from services.customer.api_customers import IMPORT_BODY
from services.customer.deps import DirectoryDep, SettingsDep, WriteRepo
from services.customer.fact_import import Kind
from services.customer.schemas import ImportResult
from shared.problems import problem_responses
from shared.types import OrgCode

router = APIRouter(tags=["vehicles"])
RESPONSES = problem_responses(401, 403, 404, 413, 415, 422)
DealerQuery = Annotated[OrgCode, Query(description="The dealer whose records the file holds")]


async def _import(kind: Kind, request: Request, dealer_code: str, repo: WriteRepo, directory: DirectoryDep,
                  settings: SettingsDep) -> ImportResult:
    media = importer.media_type(request.headers.get("content-type"))
    dealer = await directory.dealer_for(repo.principal, dealer_code, in_query=True)
    async with importer.spooled(request.stream(), settings.import_max_bytes) as body:
        outcome = await fact_import.import_rows(repo, directory, dealer, kind, media, body)
    return ImportResult.model_validate(outcome, from_attributes=True)


def _columns(kind: Kind) -> str:
    return (f"Columns: {', '.join(fact_import.COLUMNS[kind])}; required: {', '.join(fact_import.REQUIRED[kind])}. "
            "Row errors in `errors` (row 1 is the first data row); the good rows are kept.")


@router.post("/v1/vehicles/import", responses=RESPONSES, openapi_extra=IMPORT_BODY, description=_columns("vehicles"))
async def import_vehicles(request: Request, dealer_code: DealerQuery, repo: WriteRepo, directory: DirectoryDep,
                          settings: SettingsDep) -> ImportResult:
    """Import vehicles from CSV or JSON Lines, upserting by (dealer_code, vin)."""
    return await _import("vehicles", request, dealer_code, repo, directory, settings)


@router.post("/v1/deliveries/import", responses=RESPONSES, openapi_extra=IMPORT_BODY, description=_columns("deliveries"))
async def import_deliveries(request: Request, dealer_code: DealerQuery, repo: WriteRepo, directory: DirectoryDep,
                            settings: SettingsDep) -> ImportResult:
    """Import deliveries from CSV or JSON Lines, upserting by (dealer_code, vin); only a new one
    publishes vehicle.delivered."""
    return await _import("deliveries", request, dealer_code, repo, directory, settings)


@router.post("/v1/service-visits/import", responses=RESPONSES, openapi_extra=IMPORT_BODY, description=_columns("visits"))
async def import_visits(request: Request, dealer_code: DealerQuery, repo: WriteRepo, directory: DirectoryDep,
                        settings: SettingsDep) -> ImportResult:
    """Import repair orders from CSV or JSON Lines, upserting by (dealer_code, ro_number)."""
    return await _import("visits", request, dealer_code, repo, directory, settings)
