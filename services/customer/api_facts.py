"""`GET /internal/facts/{visits|deliveries|followups|appointments|staff}`: the records a KPI rebuild replays, in
event payload shape (a follow-up's also says how it ended: the KPI service's recorder of followup.scheduled
takes the rest, services/kpi/consumers.py FollowUpScheduled)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.customer import events
from services.customer.staff import staff_state
from services.customer.models import FollowUp
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
    return {"items": [_followup(f) for f in rows], "next_cursor": cursor}


def _followup(f: FollowUp) -> dict[str, Any]:
    """The task and how it ended, as its events told the KPI service (followup.unreachable's
    `unreachable_at` is the completion time the last call set)."""
    unreachable_at = f.completed_at if f.status == "unreachable" else None
    return {"dealer_code": f.dealer_code, "org_path": f.org_path, "followup_id": f.id, "kind": f.kind,
            "customer_id": f.customer_id, "prospect_id": f.prospect_id, "due_at": f.due_at,
            "completed_at": f.completed_at, "status": f.status, "reached": f.reached,
            "satisfaction": f.satisfaction, "unreachable_at": unreachable_at, "assignee": f.assignee}


@router.get("/internal/facts/appointments")
async def appointments(repo: Repo, _: Internal, params: Params) -> dict[str, Any]:
    rows, cursor = await repo.appointments_page(params)
    return {"items": [events.appointment_state(a).model_dump(mode="json") for a in rows], "next_cursor": cursor}


@router.get("/internal/facts/staff")
async def staff(repo: Repo, _: Internal, params: Params) -> dict[str, Any]:
    """Every dealer's staff as their last staff.changed told it (retired ones too: facts name them)."""
    rows, cursor = await repo.staff(params, None)
    return {"items": [staff_state(m).model_dump(mode="json") for m in rows], "next_cursor": cursor}
