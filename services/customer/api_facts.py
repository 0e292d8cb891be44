"""`GET /internal/facts/{visits|deliveries|followups}`: the records a KPI rebuild replays, in event payload shape."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from services.customer.models import Delivery, FollowUp, ServiceVisit
from shared.auth import scoped
from shared.pagination import PageParams, keyset_page, page_params
from shared.service_app import SessionDep

router = APIRouter(include_in_schema=False)
Internal = scoped("internal")
Params = Annotated[PageParams, Depends(page_params)]


@router.get("/internal/facts/visits")
async def visits(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    statement = select(ServiceVisit).where(ServiceVisit.closed_at.is_not(None))
    rows, cursor = await keyset_page(session, statement, ServiceVisit, params)
    return {"items": [{"dealer_code": v.dealer_code, "org_path": v.org_path, "visit_id": v.id, "ro_number": v.ro_number,
                       "vin": v.vin, "customer_id": v.customer_id, "visit_type": v.visit_type, "opened_at": v.opened_at,
                       "closed_at": v.closed_at, "symptom_codes": v.symptom_codes} for v in rows], "next_cursor": cursor}


@router.get("/internal/facts/deliveries")
async def deliveries(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await keyset_page(session, select(Delivery), Delivery, params)
    return {"items": [{"dealer_code": d.dealer_code, "org_path": d.org_path, "delivery_id": d.id, "vin": d.vin,
                       "customer_id": d.customer_id, "delivered_at": d.delivered_at} for d in rows],
            "next_cursor": cursor}


@router.get("/internal/facts/followups")
async def followups(session: SessionDep, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await keyset_page(session, select(FollowUp), FollowUp, params)
    return {"items": [{"dealer_code": f.dealer_code, "org_path": f.org_path, "followup_id": f.id, "kind": f.kind,
                       "customer_id": f.customer_id, "prospect_id": f.prospect_id, "due_at": f.due_at,
                       "completed_at": f.completed_at} for f in rows], "next_cursor": cursor}
