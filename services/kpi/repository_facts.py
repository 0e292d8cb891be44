"""Writing facts and rollups: what events and rebuilds record. All the write SQL of the service.

A fact is inserted once per natural key (response id, visit id...), and its rollup increments
are applied only when the insert happened: a second event for the same record (a replay, or
the same record met again by a rebuild) adds nothing. Records come in lists, a relay's batch
at a time: one INSERT per kind of fact for the whole list, and the rollup increments summed
in memory (`RollupDeltas`) until `flush` writes them, one upsert per rollup table.
A response's integrity may change after it was recorded (survey.response.flagged / reviewed):
its row keeps the state, and only a change of whether it counts moves its increments, taken
back (negative deltas) or added, so any order and any replay of those events leaves the same sums.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.kpi import domain
from services.kpi.deltas import RollupDeltas
from services.kpi.domain import NPS_VALUES, Agg, of_value, share
from services.kpi.models import (AlertFact, AppointmentFact, ComplaintFact, DeliveryFact, FactorRollup, FollowUpFact,
                                 InvitationFact, LifecycleFact, RecallVinFact, ResponseFact, Rollup, StaffMember, Target,
                                 VisitFact)
from shared.consumer import insert_many
from shared.contracts.survey import Integrity

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
    integrity: Integrity = field(default_factory=Integrity)


@dataclass(frozen=True)
class IntegrityChange:
    """survey.response.flagged or survey.response.reviewed (`reviewed_at` set): the response's integrity
    as the survey service now sees it."""

    response_id: uuid.UUID
    org_path: str
    kind: str
    submitted_at: datetime
    integrity: Integrity
    reviewed_at: datetime | None


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

    async def put_recall_vins(self, rows: list[dict[str, Any]]) -> None:
        """recall.vin_assigned: each VIN under its latest dealer; the first assignment's time stays
        (the VIN was affected from then on, whoever answers for it now)."""
        statement, parameters = insert_many(self.session, RecallVinFact.__table__, _columns(rows))
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["recall_code", "vin"], set_={"org_path": statement.excluded.org_path}), parameters)

    async def complete_recall_vin(self, row: dict[str, Any]) -> None:
        """recall.completed; a completion arriving before its assignment stores the VIN as affected
        from its completion."""
        statement = self._insert(RecallVinFact).values(**row, assigned_at=row["completed_at"])
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["recall_code", "vin"],
            set_={"org_path": statement.excluded.org_path, "completed_at": statement.excluded.completed_at}))

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
        """Each new response counted by its integrity: in the rollups when it counts, else in the
        `excluded_*` counts; the flag rate's share either way. A row an integrity change created before
        its submission arrived is filled in, and that change's integrity, the later word, stands."""
        first: dict[uuid.UUID, ResponseRecord] = {}
        for r in records:
            first.setdefault(r.response_id, r)  # the first record of its id is the one stored
        if not first:
            return
        table = ResponseFact.__table__
        statement, parameters = insert_many(self.session, table, _columns([
            {"response_id": r.response_id, "org_path": r.org_path, "kind": r.kind, "submitted_at": r.submitted_at,
             "index_score": r.index, "nps_category": r.nps_category, "factors": r.factors, "advisor": r.advisor,
             "technician": r.technician, "sales_consultant": r.sales_consultant, "invited": r.invited,
             "integrity_status": r.integrity.status, "integrity_flags": list(r.integrity.flags), "recorded": True}
            for r in first.values()]))
        submitted = ("index_score", "nps_category", "factors", "advisor", "technician", "sales_consultant", "invited",
                     "recorded")
        statement = statement.on_conflict_do_update(
            index_elements=["response_id"], set_={name: statement.excluded[name] for name in submitted},
            where=table.c.recorded.is_(False),
        ).returning(table.c.response_id, table.c.integrity_status, table.c.integrity_flags)
        for response_id, status, flags in (await self.session.execute(statement, parameters)).all():
            self._count_response(first[response_id], Integrity(status=status, flags=flags))

    def _count_response(self, r: ResponseRecord, integrity: Integrity) -> None:
        flagged = domain.flagged(integrity)
        self._deltas.add(r.submitted_at, r.org_path, {"integrity_flag_rate": share(int(flagged), 1)})
        self._add_response(r, integrity.counts, 1)

    def _add_response(self, r: ResponseRecord, counts: bool, sign: int) -> None:
        """Add (sign 1) or take back (-1) what a response adds to the rollups when it `counts`, or to
        the counts of responses held out of each of its KPIs when it does not."""
        aggs = {"responses": of_value(1.0)}
        if r.invited:
            aggs["invited_responses"] = of_value(1.0)
        if r.nps_category in NPS_VALUES:
            aggs["nps"] = of_value(NPS_VALUES[r.nps_category])
        scored = r.index is not None and r.kind in ("csi", "ssi")
        if scored:
            aggs[r.kind] = of_value(r.index)
        if not counts:
            self._deltas.add(r.submitted_at, r.org_path, {f"excluded_{metric}": Agg(sign) for metric in aggs})
            return
        self._deltas.add(r.submitted_at, r.org_path,
                         {metric: Agg(sign * agg.n, sign * agg.s, sign * agg.ss) for metric, agg in aggs.items()})
        if scored and r.factors:
            self._deltas.add_factors(r.kind, r.submitted_at, r.org_path, r.factors, r.index, sign)

    async def change_integrity(self, change: IntegrityChange) -> None:
        """A flag raised after submission or a review: the response's new integrity (domain.integrity_after
        keeps a review against a late flag or an older review), and, if it was recorded, only what
        really changed moves in the rollups. A change for a response not known yet is kept for it."""
        c = ResponseFact.__table__.c
        stored = select(c.integrity_status, c.integrity_flags, c.reviewed_at, c.recorded, c.org_path, c.kind,
                        c.submitted_at, c.index_score, c.nps_category, c.factors, c.invited
                        ).where(c.response_id == change.response_id).with_for_update()
        row = (await self.session.execute(stored)).one_or_none()
        if row is None:
            created = await self._insert_new(ResponseFact, [{
                "response_id": change.response_id, "org_path": change.org_path, "kind": change.kind,
                "submitted_at": change.submitted_at, "factors": {}, "integrity_status": change.integrity.status,
                "integrity_flags": list(change.integrity.flags), "reviewed_at": change.reviewed_at, "recorded": False}],
                "response_id")
            if created:
                return
            row = (await self.session.execute(stored)).one()
        before = Integrity(status=row.integrity_status, flags=row.integrity_flags)
        after, reviewed_at = domain.integrity_after(before, row.reviewed_at, change.integrity, change.reviewed_at)
        if (after, reviewed_at) == (before, row.reviewed_at):
            return
        await self.session.execute(update(ResponseFact).where(ResponseFact.response_id == change.response_id).values(
            integrity_status=after.status, integrity_flags=list(after.flags), reviewed_at=reviewed_at))
        if not row.recorded:
            return
        r = ResponseRecord(change.response_id, row.org_path, row.kind, row.submitted_at, row.index_score,
                           row.nps_category, row.factors, invited=row.invited)
        if before.counts != after.counts:
            self._add_response(r, before.counts, -1)
            self._add_response(r, after.counts, 1)
        was, now = domain.flagged(before), domain.flagged(after)
        if was != now:
            sign = 1 if now else -1
            self._deltas.add(r.submitted_at, r.org_path, {"integrity_flag_rate": Agg(0, sign * 100.0, sign * 10_000.0)})

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

    async def put_lifecycle_changes(self, rows: list[dict[str, Any]]) -> None:
        """lifecycle.changed: each change once (a redelivered event adds nothing)."""
        if not rows:
            return
        statement, parameters = insert_many(self.session, LifecycleFact.__table__, _columns(rows))
        await self.session.execute(statement.on_conflict_do_nothing(index_elements=["customer_id", "changed_at"]),
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
