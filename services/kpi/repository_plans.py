"""Improvement plans and their actions: every statement of services/kpi/plans.py and its job.

Request reads and writes stand behind the caller's scope (`ScopedRepository.select`); the job's
two candidate reads (`unchecked_plans`, `overdue_actions`) are the system principal's, across the
tree, because the job serves every org. Events go to the KPI service's outbox in the same
transaction as the change that made them.
"""

import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import Select, Table, and_, exists, select, update
from sqlalchemy.orm import aliased

from services.kpi.models import TABLES, ImprovementAction, ImprovementPlan, StaffMember
from services.kpi.repository import KpiRepository
from services.kpi.repository_facts import FactStore
from shared.org_path import OrgPath
from shared.pagination import PageParams, keyset_page
from shared.problems import NotFound
from shared.scope import ScopedRepository, like_prefix


class PlanRepository(ScopedRepository):
    outbox: ClassVar[Table | None] = TABLES.outbox

    async def add(self, plan: ImprovementPlan, actions: list[ImprovementAction]) -> None:
        self.session.add(plan)
        self.session.add_all(actions)
        await self.session.flush()

    async def plan(self, plan_id: uuid.UUID, *, for_update: bool = False) -> ImprovementPlan:
        """The plan if the caller sees it (else 404); `for_update` locks it against a concurrent change."""
        statement = self.select(ImprovementPlan).where(ImprovementPlan.id == plan_id)
        if for_update:
            statement = statement.with_for_update()
        plan = (await self.session.scalars(statement)).first()
        if plan is None:
            raise NotFound(f"No improvement plan {plan_id}")
        return plan

    async def actions(self, plan_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ImprovementAction]]:
        """Each plan's actions by position."""
        out: dict[uuid.UUID, list[ImprovementAction]] = {plan_id: [] for plan_id in plan_ids}
        if not plan_ids:
            return out
        statement = (self.select(ImprovementAction).where(ImprovementAction.plan_id.in_(plan_ids))
                     .order_by(ImprovementAction.plan_id, ImprovementAction.position))
        for action in (await self.session.scalars(statement)).all():
            out[action.plan_id].append(action)
        return out

    async def plans(self, org_path: str, page: PageParams, *, status: str | None, overdue: bool | None,
                    today: date) -> tuple[list[ImprovementPlan], str | None]:
        """The plans of the org at `org_path` and of its subtree, oldest first."""
        p = ImprovementPlan
        statement = self.select(p).where(p.org_path.like(like_prefix(OrgPath(org_path).prefix), escape="/"))
        if status is not None:
            statement = statement.where(p.status == status)
        if overdue is not None:
            late = exists().where(_overdue(ImprovementAction, today), ImprovementAction.plan_id == p.id)
            statement = statement.where(late if overdue else ~late)
        return await keyset_page(self.session, statement, p, page)

    async def active_staff(self, dealer_path: str, code: str) -> bool:
        statement = self.select(StaffMember, StaffMember.code).where(
            StaffMember.org_path == dealer_path, StaffMember.code == code, StaffMember.active.is_(True))
        return (await self.session.scalars(statement)).first() is not None

    async def remember_staff(self, row: dict[str, Any]) -> None:
        """A staff member the customer service named before its `staff.changed` arrived, kept as the
        event would keep it (the event, when it comes, wins by version as usual)."""
        await FactStore(self.session).put_staff([row])

    def figures(self) -> KpiRepository:
        """The KPI reads of the same caller and transaction: a plan's re-check value."""
        return KpiRepository(self.session, self.principal)

    async def unchecked_plans(self, now: datetime) -> list[ImprovementPlan]:
        """Across the tree (the job's): plans whose re-check period has ended and that have no result yet."""
        p = ImprovementPlan
        statement = select(p).where(p.result_at.is_(None), p.recheck_end <= now).order_by(p.recheck_end, p.id)
        return list((await self.session.scalars(statement)).all())

    async def overdue_actions(self, today: date, limit: int) -> list[tuple[ImprovementAction, ImprovementPlan]]:
        """Across the tree (the job's): undone actions past their due date, of plans not closed, that
        were never published as overdue."""
        a, p = ImprovementAction, aliased(ImprovementPlan)
        statement: Select[Any] = (select(a, p).join(p, p.id == a.plan_id)
                                  .where(_overdue(a, today), a.overdue_published_at.is_(None), p.status != "closed")
                                  .order_by(a.due, a.plan_id, a.position).limit(limit))
        return [(action, plan) for action, plan in (await self.session.execute(statement)).all()]

    async def claim_overdue(self, action: ImprovementAction, now: datetime) -> bool:
        """Mark the action's overdue event as published, unless another pass (a replica) did first."""
        a = ImprovementAction
        claimed = await self.session.execute(
            update(a).where(a.plan_id == action.plan_id, a.position == action.position, a.overdue_published_at.is_(None))
            .values(overdue_published_at=now).execution_options(synchronize_session=False))
        return bool(claimed.rowcount)


def _overdue(a: Any, today: date) -> Any:
    return and_(a.done_at.is_(None), a.due < today)
