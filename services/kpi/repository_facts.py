"""Writing facts and rollups: what events and rebuilds record. All the write SQL of the service.

A fact is inserted once per natural key (response id, visit id...), and its rollup increments
are applied only when the insert happened: a second event for the same record (a replay, or
the same record met again by a rebuild) adds nothing. Records come in lists, a relay's batch
at a time: one INSERT per kind of fact for the whole list, and the rollup increments summed
in memory (`RollupDeltas`) until `flush` writes them, one upsert per rollup table.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi.deltas import RollupDeltas
from services.kpi.domain import NPS_VALUES, Agg, of_value
from services.kpi.models import (AlertFact, AppointmentFact, ComplaintFact, DeliveryFact, FactorRollup, FollowUpFact,
                                 InvitationFact, ResponseFact, Rollup, StaffMember, Target, VisitFact)
from shared.consumer import insert_many

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
    advisor: str | None = None
    technician: str | None = None
    sales_consultant: str | None = None


@dataclass(frozen=True)
class InvitationRecord:
    invitation_id: uuid.UUID
    org_path: str
    sent_at: datetime


class FactStore:
    """The service's write side, unscoped on purpose: it acts for the system, recording every
    dealer's events (consumers) and replaying them (rebuild). The one caller-driven write, a
    target, is checked against the caller's subtree before it gets here (reports.set_target)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        self._deltas = RollupDeltas()

    async def _insert_new(self, model: Any, rows: list[dict[str, Any]], key: str) -> set[Any]:
        """Insert the rows whose `key` is not stored yet (of several rows with one key, the first); answers
        the keys inserted."""
        first: dict[Any, dict[str, Any]] = {}
        for row in rows:
            first.setdefault(row[key], row)
        if not first:
            return set()
        table = model.__table__
        statement, parameters = insert_many(self.session, table, _columns(list(first.values())))
        statement = statement.on_conflict_do_nothing().returning(table.c[key])
        return set((await self.session.execute(statement, parameters)).scalars())

    async def _upsert_many(self, model: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
        """Insert or overwrite rows of the same columns; of several rows with one key, the last word wins."""
        last = {tuple(row[k] for k in keys): row for row in rows}
        if not last:
            return
        statement, parameters = insert_many(self.session, model.__table__, _columns(list(last.values())))
        changes = {name: statement.excluded[name] for name in rows[0] if name not in keys}
        await self.session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes), parameters)

    async def _upsert(self, model: Any, values: dict[str, Any], keys: list[str]) -> None:
        statement = self._insert(model).values(**values)
        changes = {name: statement.excluded[name] for name in values if name not in keys}
        await self.session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))

    async def _add_to(self, model: Any, keys: list[str], sums: tuple[str, ...], columns: dict[str, list[Any]]) -> None:
        """Add each row's sums to the stored row of its key (a new key starts from them)."""
        table = model.__table__
        statement, parameters = insert_many(self.session, table, columns)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: table.c[name] + statement.excluded[name] for name in sums})
        await self.session.execute(statement, parameters)

    async def flush(self) -> None:
        """Write the rollup increments recorded since the last flush, in the caller's transaction."""
        rollups, factors = self._deltas.take()
        if rollups:
            await self._add_to(Rollup, ["metric", "month", "org_path"], ("n", "s", "ss"), rollups)
        if factors:
            await self._add_to(FactorRollup, ["kind", "month", "org_path", "factor"],
                               ("n", "sx", "sy", "sxx", "syy", "sxy"), factors)

    # --- survey ---------------------------------------------------------------------------------

    async def add_responses(self, records: list[ResponseRecord]) -> None:
        new = await self._insert_new(ResponseFact, [
            {"response_id": r.response_id, "org_path": r.org_path, "kind": r.kind, "submitted_at": r.submitted_at,
             "index_score": r.index, "nps_category": r.nps_category, "factors": r.factors, "advisor": r.advisor,
             "technician": r.technician, "sales_consultant": r.sales_consultant} for r in records], "response_id")
        for r in records:
            if r.response_id in new:
                new.discard(r.response_id)  # counted once: the first record of its id is the one stored
                self._count_response(r)

    def _count_response(self, r: ResponseRecord) -> None:
        aggs = {"responses": Agg(1, 1.0, 1.0)}
        if r.invited:
            aggs["invited_responses"] = Agg(1, 1.0, 1.0)
        if r.nps_category in NPS_VALUES:
            aggs["nps"] = of_value(NPS_VALUES[r.nps_category])
        scored = r.index is not None and r.kind in ("csi", "ssi")
        if scored:
            aggs[r.kind] = of_value(r.index)
        self._deltas.add(r.submitted_at, r.org_path, aggs)
        if scored and r.factors:
            self._deltas.add_factors(r.kind, r.submitted_at, r.org_path, r.factors, r.index)

    async def add_invitations(self, records: list[InvitationRecord]) -> None:
        new = await self._insert_new(InvitationFact, [
            {"invitation_id": i.invitation_id, "org_path": i.org_path, "sent_at": i.sent_at} for i in records],
            "invitation_id")
        for i in records:
            if i.invitation_id in new:
                new.discard(i.invitation_id)
                self._deltas.add(i.sent_at, i.org_path, {"invitations": Agg(1, 1.0, 1.0)})

    async def add_alerts(self, rows: list[dict[str, Any]]) -> None:
        await self._insert_new(AlertFact, rows, "response_id")

    # --- customer -------------------------------------------------------------------------------

    async def put_visits(self, rows: list[dict[str, Any]]) -> None:
        """A visit's data may be corrected after closing: the last word wins."""
        await self._upsert_many(VisitFact, rows, ["visit_id"])

    async def add_deliveries(self, rows: list[dict[str, Any]]) -> None:
        await self._insert_new(DeliveryFact, rows, "delivery_id")

    async def put_followup(self, values: dict[str, Any]) -> None:
        """A schedule (its due time, its kind) or a rebuild's whole record: the columns given overwrite,
        the others keep what other events said (a new task starts open)."""
        await self._upsert(FollowUpFact, values, ["followup_id"])

    async def close_followup(self, values: dict[str, Any]) -> None:
        """followup.completed (status done), followup.unreachable or followup.cancelled: the task's end and
        the call's result.

        Done is final whatever order the events come in: a late `unreachable` after a completion
        changes nothing, a completion after `unreachable` (the customer reached after all) wins.
        A due time already known is kept (a schedule's is newer than the one the event carried).
        The assignee named at the end is the task's, as of that moment."""
        f = FollowUpFact.__table__.c
        statement = self._insert(FollowUpFact).values(**values)
        new = statement.excluded
        changes = {name: new[name] for name in values if name not in ("followup_id", "due_at", "assignee", "assigned_at")}
        changes |= {"due_at": func.coalesce(f.due_at, new.due_at), "assignee": func.coalesce(new.assignee, f.assignee),
                    "assigned_at": func.coalesce(new.assigned_at, f.assigned_at)}
        unless_done = None if values["status"] == "done" else f.status != "done"
        await self.session.execute(statement.on_conflict_do_update(index_elements=["followup_id"], set_=changes,
                                                                   where=unless_done))

    async def assign_followup(self, values: dict[str, Any]) -> None:
        """followup.assigned: the assignee, unless one as of a later moment is known (a late event)."""
        f = FollowUpFact.__table__.c
        statement = self._insert(FollowUpFact).values(**values)
        new = statement.excluded
        changes = {"assignee": new.assignee, "assigned_at": new.assigned_at, "kind": new.kind,
                   "due_at": func.coalesce(f.due_at, new.due_at)}
        newer = or_(f.assigned_at.is_(None), f.assigned_at <= new.assigned_at)
        await self.session.execute(statement.on_conflict_do_update(index_elements=["followup_id"], set_=changes,
                                                                   where=newer))

    async def put_appointments(self, rows: list[dict[str, Any]]) -> None:
        """appointment.changed: each appointment as its latest change (by `changed_at`) left it, whatever
        order the events come in; of equal times, the later delivered."""
        latest: dict[Any, dict[str, Any]] = {}
        for row in rows:
            known = latest.get(row["appointment_id"])
            if known is None or known["changed_at"] <= row["changed_at"]:
                latest[row["appointment_id"]] = row
        if not latest:
            return
        a = AppointmentFact.__table__.c
        statement, parameters = insert_many(self.session, AppointmentFact.__table__, _columns(list(latest.values())))
        changes = {name: statement.excluded[name] for name in rows[0] if name != "appointment_id"}
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["appointment_id"], set_=changes, where=a.changed_at <= statement.excluded.changed_at),
            parameters)

    # --- staff ----------------------------------------------------------------------------------

    async def put_staff(self, rows: list[dict[str, Any]]) -> None:
        """staff.changed: each member as its highest version left it, whatever order the events come in."""
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            key = (row["org_path"], row["code"])
            if key not in latest or latest[key]["version"] <= row["version"]:
                latest[key] = row
        if not latest:
            return
        c = StaffMember.__table__.c
        statement, parameters = insert_many(self.session, StaffMember.__table__, _columns(list(latest.values())))
        changes = {name: statement.excluded[name] for name in ("name", "role", "active", "version")}
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["org_path", "code"], set_=changes, where=c.version <= statement.excluded.version), parameters)

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


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows of the same keys, column by column (shared.consumer.insert_many)."""
    return {name: [row[name] for row in rows] for name in rows[0]}
