"""`GET /internal/facts/{visits|deliveries|followups}`: the records a KPI rebuild replays, in event payload shape."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.customer import events
from services.customer.repository import CustomerRepository
from shared.auth import scoped, system_principal
from shared.pagination import PageParams, page_params
from shared.service_app import SessionDep

router = APIRouter(include_in_schema=False)
Internal = scoped("internal")
Params = Annotated[PageParams, Depends(page_params)]


async def _repo(session: SessionDep) -> CustomerRepository:
    return CustomerRepository(session, system_principal())


Repo = Annotated[CustomerRepository, Depends(_repo)]


@router.get("/internal/facts/visits")
async def visits(repo: Repo, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await repo.closed_visits_page(params)
    return {"items": [events.visit_closed(v).model_dump(mode="json") for v in rows], "next_cursor": cursor}


@router.get("/internal/facts/deliveries")
async def deliveries(repo: Repo, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await repo.deliveries_page(params)
    return {"items": [events.delivered(d).model_dump(mode="json") for d in rows], "next_cursor": cursor}


@router.get("/internal/facts/followups")
async def followups(repo: Repo, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await repo.followups_page(params)
    return {"items": [{"dealer_code": f.dealer_code, "org_path": f.org_path, "followup_id": f.id, "kind": f.kind,
                       "customer_id": f.customer_id, "prospect_id": f.prospect_id, "due_at": f.due_at,
                       "completed_at": f.completed_at} for f in rows], "next_cursor": cursor}
