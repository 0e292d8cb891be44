"""Service-to-service KPI calls: `POST /internal/kpi/rebuild` (what `csloop kpi rebuild` calls)."""

from fastapi import APIRouter, Request

from shared.auth import CurrentPrincipal
from shared.problems import Forbidden
from services.kpi.rebuild import rebuild
from services.kpi.schemas import KpiRebuilt

router = APIRouter(include_in_schema=False)


@router.post("/internal/kpi/rebuild")
async def rebuild_kpis(request: Request, principal: CurrentPrincipal) -> KpiRebuilt:
    """Recompute facts and rollups from the source services; answers the records read per kind."""
    if "internal" not in principal.scopes:
        raise Forbidden("Only CSLoop services and admin scripts rebuild KPIs")
    state = request.app.state
    return KpiRebuilt(rebuilt=await rebuild(state.sessions, state.settings, state.source_transport))
