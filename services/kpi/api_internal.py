"""Service-to-service KPI calls: `POST /internal/kpi/rebuild` (what `csloop kpi rebuild` calls)."""

from fastapi import APIRouter, Request

from shared.auth import CurrentPrincipal
from shared.problems import Forbidden
from services.kpi.rebuild import rebuild

router = APIRouter(include_in_schema=False)


@router.post("/internal/kpi/rebuild")
async def rebuild_kpis(request: Request, principal: CurrentPrincipal) -> dict:
    """Recompute facts and rollups from the source services; answers the records read per kind."""
    if "internal" not in principal.scopes:
        raise Forbidden("Only CSLoop services and admin scripts rebuild KPIs")
    state = request.app.state
    return {"rebuilt": await rebuild(state.sessions, state.settings, state.source_transport)}
