"""The improvement plans API (/v1/improvement-plans): PDCA plans, their actions and re-check (API.md)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.kpi import plans
from services.kpi.deps import PlanReader, PlanSourcesDep, PlanWriter, SubtreesDep
from services.kpi.reports import org_for
from services.kpi.schemas import PlanCreate, PlanRead, PlanStatus, PlanTransition
from shared.auth import INTERNAL_HEADER
from shared.pagination import Page, PageParams, page_params
from shared.problems import problem_responses

router = APIRouter(prefix="/v1/improvement-plans", tags=["improvement-plans"])
Index = Annotated[int, Path(ge=0, le=1000, description="The action's position in the plan, from 0")]
CHANGE_PROBLEMS = problem_responses(401, 403, 404, 409, 422)


@router.post("", status_code=201, responses=problem_responses(401, 403, 422, 503))
async def create_plan(data: PlanCreate, repo: PlanWriter, subtrees: SubtreesDep, sources: PlanSourcesDep,
                      request: Request, response: Response) -> PlanRead:
    """Open an improvement plan for an org (the org itself or one above it; scope kpi:write), in status `plan`.

    A dealer's plan: each action's `owner` is an active staff code of the dealer (422 otherwise); a
    distributor's or manufacturer's: free text. An action naming `complaint_id` (or the one action of
    a plan whose source is a complaint and that lists none) is that complaint's corrective action;
    the complaint is one of the plan's org or below it (422 otherwise).
    """
    # The caller's own token goes to the complaint and customer services: their scope rules judge.
    plan = await plans.create_plan(repo, subtrees, sources, request.headers[INTERNAL_HEADER], data)
    response.headers["Location"] = f"/v1/improvement-plans/{plan.id}"
    return plan


@router.get("", responses=problem_responses(400, 401, 403, 404, 422))
async def list_plans(repo: PlanReader, subtrees: SubtreesDep, page: Annotated[PageParams, Depends(page_params)],
                     org_code: Annotated[str | None, Query(max_length=40, description="Default: yours")] = None,
                     status: PlanStatus | None = None,
                     overdue: Annotated[bool | None, Query(description="true: plans with an action past its due "
                                                                       "date undone; false: none")] = None,
                     ) -> Page[PlanRead]:
    """The plans of an org and of every org below it (a distributor sees its dealers'), oldest first."""
    org = await org_for(subtrees, repo.principal, org_code)
    items, cursor = await plans.list_plans(repo, org, page, status, overdue)
    return Page(items=items, next_cursor=cursor)


@router.get("/{plan_id}", responses=problem_responses(401, 403, 404))
async def get_plan(plan_id: uuid.UUID, repo: PlanReader) -> PlanRead:
    """One plan with its actions and, once `recheck_period` has ended and the KPI has a value, its result."""
    return await plans.read_plan(repo, plan_id)


@router.post("/{plan_id}/transitions", responses=CHANGE_PROBLEMS)
async def transition_plan(plan_id: uuid.UUID, data: PlanTransition, repo: PlanWriter) -> PlanRead:
    """Move the plan: plan -> do -> check -> act | closed, act -> closed; any other move is a 409 listing
    the allowed ones (`allowed`)."""
    return await plans.transition(repo, plan_id, data.to)


@router.post("/{plan_id}/actions/{index}/done", responses=CHANGE_PROBLEMS)
async def mark_action_done(plan_id: uuid.UUID, index: Index, repo: PlanWriter) -> PlanRead:
    """Mark an action done (publishes improvement.action_done; one taken from a complaint names it, and
    the complaint's corrective action shows it done). Done again: the plan as it is, nothing published."""
    return await plans.mark_done(repo, plan_id, index)
