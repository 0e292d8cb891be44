"""Writing facts and rollups: what events and rebuilds record. All the write SQL of the service.

A fact is inserted once per natural key (response id, visit id...), and its rollup increments
are applied only when the insert happened: a second event for the same record (a replay, or
the same record met again by a rebuild) adds nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.domain import NPS_VALUES, Agg, month_of, of_value
from services.kpi.models import (AlertFact, ComplaintFact, DeliveryFact, FactorRollup, FollowUpFact, InvitationFact,
                                 ResponseFact, Rollup, Target, VisitFact)


@dataclass(frozen=True)
class ResponseRecord:
    response_id: uuid.UUID
    org_path: str
    kind: str
    submitted_at: datetime
    index: float | None
    nps_category: str | None
    factors: dict[str, float]
    # False for results a third party delivered in bulk: nobody here invited that customer.
    invited: bool = True


class FactStore:
    """The service's write side, unscoped on purpose: it acts for the system, recording every
    dealer's events (consumers) and replaying them (rebuild). The one caller-driven write, a
    target, is checked against the caller's subtree before it gets here (reports.set_target)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert

    async def _insert_once(self, model: Any, values: dict[str, Any]) -> bool:
        statement = self._insert(model).values(**values).on_conflict_do_nothing()
        return (await self.session.execute(statement)).rowcount == 1

    async def _upsert(self, model: Any, values: dict[str, Any], keys: list[str]) -> None:
        statement = self._insert(model).values(**values)
        changes = {name: statement.excluded[name] for name in values if name not in keys}
        await self.session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))

    async def _bump(self, month: str, org_path: str, aggs: dict[str, Agg]) -> None:
        """Add to several metrics' rollups in one round trip. One parametrised statement run for
        many rows (not a VALUES list of varying length) so SQLAlchemy compiles it once, not per event."""
        statement = self._insert(Rollup)
        statement = statement.on_conflict_do_update(
            index_elements=["metric", "month", "org_path"],
            set_={"n": Rollup.n + statement.excluded.n, "s": Rollup.s + statement.excluded.s,
                  "ss": Rollup.ss + statement.excluded.ss})
        await self.session.execute(statement, [{"metric": metric, "month": month, "org_path": org_path, "n": agg.n,
                                                "s": agg.s, "ss": agg.ss} for metric, agg in aggs.items()])

    async def _bump_factors(self, kind: str, month: str, org_path: str, factors: dict[str, float], y: float) -> None:
        statement = self._insert(FactorRollup)
        statement = statement.on_conflict_do_update(
            index_elements=["kind", "month", "org_path", "factor"],
            set_={name: getattr(FactorRollup, name) + statement.excluded[name]
                  for name in ("n", "sx", "sy", "sxx", "syy", "sxy")})
        await self.session.execute(statement, [
            {"kind": kind, "month": month, "org_path": org_path, "factor": factor, "n": 1, "sx": x, "sy": y,
             "sxx": x * x, "syy": y * y, "sxy": x * y} for factor, x in sorted(factors.items())])

    # --- survey ---------------------------------------------------------------------------------

    async def add_response(self, r: ResponseRecord) -> bool:
        if not await self._insert_once(ResponseFact, {
                "response_id": r.response_id, "org_path": r.org_path, "kind": r.kind, "submitted_at": r.submitted_at,
                "index_score": r.index, "nps_category": r.nps_category, "factors": r.factors}):
            return False
        aggs = {"responses": Agg(1, 1.0, 1.0)}
        if r.invited:
            aggs["invited_responses"] = Agg(1, 1.0, 1.0)
        if r.nps_category in NPS_VALUES:
            aggs["nps"] = of_value(NPS_VALUES[r.nps_category])
        scored = r.index is not None and r.kind in ("csi", "ssi")
        if scored:
            aggs[r.kind] = of_value(r.index)
        month = month_of(r.submitted_at)
        await self._bump(month, r.org_path, aggs)
        if scored and r.factors:
            await self._bump_factors(r.kind, month, r.org_path, r.factors, r.index)
        return True

    async def add_invitation(self, invitation_id: uuid.UUID, org_path: str, sent_at: datetime) -> None:
        if await self._insert_once(InvitationFact, {"invitation_id": invitation_id, "org_path": org_path, "sent_at": sent_at}):
            await self._bump(month_of(sent_at), org_path, {"invitations": Agg(1, 1.0, 1.0)})

    async def add_alert(self, response_id: uuid.UUID, org_path: str, raised_at: datetime) -> None:
        await self._insert_once(AlertFact, {"response_id": response_id, "org_path": org_path, "raised_at": raised_at})

    # --- customer -------------------------------------------------------------------------------

    async def put_visit(self, values: dict[str, Any]) -> None:
        """A visit's data may be corrected after closing: the last word wins."""
        await self._upsert(VisitFact, values, ["visit_id"])

    async def add_delivery(self, values: dict[str, Any]) -> None:
        await self._insert_once(DeliveryFact, values)

    async def put_followup(self, values: dict[str, Any]) -> None:
        await self._upsert(FollowUpFact, values, ["followup_id"])

    # --- complaint ------------------------------------------------------------------------------

    async def put_complaint(self, values: dict[str, Any]) -> None:
        await self._upsert(ComplaintFact, values, ["complaint_id"])

    async def update_complaint(self, complaint_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(update(ComplaintFact).where(ComplaintFact.complaint_id == complaint_id).values(**values))

    async def first_response(self, complaint_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(update(ComplaintFact).where(
            ComplaintFact.complaint_id == complaint_id, ComplaintFact.first_responded_at.is_(None)
        ).values(first_responded_at=at))

    # --- targets and rebuild --------------------------------------------------------------------

    async def put_target(self, values: dict[str, Any]) -> None:
        await self._upsert(Target, values, ["org_code", "kpi", "period"])

    async def clear(self, models: tuple[Any, ...]) -> None:
        for model in (*models, Rollup, FactorRollup):
            await self.session.execute(delete(model))
