"""Every SQL statement of the complaint service.

`ComplaintRepository` is built for one principal and filters by its org scope. SLA policies
are the one exception to plain subtree scoping: a policy set at path P governs every case
below P, so a dealer reads its ancestors' policies too (never writes them).
"""

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from services.complaint.domain import OPEN_STATES
from services.complaint.models import (TABLES, CaseCounter, Complaint, ComplaintSymptom, QualitySignal, SlaBreach, SlaPolicy,
                                       TechRequest, TechRequestBreach, TechRequestCounter, TechRequestTimelineEntry,
                                       TimelineEntry)
from shared import rls
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.pagination import PageParams, keyset_page, list_page
from shared.scope import ScopedRepository


@dataclass(frozen=True)
class ComplaintFilter:
    status: str | None = None
    dealer_code: str | None = None
    breached: bool | None = None
    category: str | None = None
    customer_id: uuid.UUID | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class TechRequestFilter:
    status: str | None = None
    dealer_code: str | None = None


class ComplaintRepository(ScopedRepository):
    outbox = TABLES.outbox

    async def add(self, *rows: Any) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    def savepoint(self) -> AsyncSessionTransaction:
        """A nested transaction: a write that conflicts inside it is undone without the caller's."""
        return self.session.begin_nested()

    async def _first(self, statement: Select[Any]) -> Any:
        return (await self.session.scalars(statement.limit(1))).first()

    def _insert(self, model: Any) -> Any:
        """INSERT with ON CONFLICT support on both backends."""
        dialect = postgresql if self.session.bind.dialect.name == "postgresql" else sqlite
        return dialect.insert(model)

    # --- cases ----------------------------------------------------------------------------------

    async def next_number(self, year: int, counter: type[CaseCounter] | type[TechRequestCounter] = CaseCounter) -> int:
        """The year's next case (or technical request) number. The UPDATE holds the counter row until
        commit (PostgreSQL row lock; SQLite has one writer), so numbers neither repeat nor skip, even on rollback."""
        await self.session.execute(self._insert(counter).values(year=year, n=0)
                                   .on_conflict_do_nothing(index_elements=["year"]))
        return int(await self.session.scalar(
            update(counter).where(counter.year == year).values(n=counter.n + 1).returning(counter.n)))

    async def complaint(self, complaint_id: uuid.UUID) -> Complaint | None:
        return await self._first(self.select(Complaint).where(Complaint.id == complaint_id))

    async def complaints(self, where: ComplaintFilter, page: PageParams) -> tuple[list[Complaint], str | None]:
        statement = self.select(Complaint)
        for column, value in ((Complaint.status, where.status), (Complaint.dealer_code, where.dealer_code),
                              (Complaint.breached, where.breached), (Complaint.category, where.category),
                              (Complaint.customer_id, where.customer_id)):
            if value is not None:
                statement = statement.where(column == value)
        return await list_page(self.session, statement, Complaint, page, where.updated_since)

    async def alert_case(self, survey_response_id: uuid.UUID) -> Complaint | None:
        return await self._first(self.select(Complaint).where(
            Complaint.channel == "survey_alert", Complaint.survey_response_id == survey_response_id))

    async def followup_case(self, followup_id: uuid.UUID) -> Complaint | None:
        return await self._first(self.select(Complaint).where(Complaint.followup_id == followup_id))

    async def claim_version(self, complaint: Complaint, expected: int) -> bool:
        """Move the case from version `expected` to the next, or report that someone else did first.

        The condition is evaluated by the database at write time, so of many writers holding
        the same ETag exactly one wins, whatever they read before.
        """
        now = utcnow()
        result = await self.session.execute(
            update(Complaint).where(Complaint.id == complaint.id, Complaint.version == expected)
            .values(version=expected + 1, updated_at=now).returning(Complaint.version))
        if result.scalar() is None:
            return False
        set_committed_value(complaint, "version", expected + 1)
        set_committed_value(complaint, "updated_at", now)
        return True

    async def timeline(self, complaint_id: uuid.UUID) -> list[TimelineEntry]:
        return list((await self.session.scalars(self.select(TimelineEntry).where(
            TimelineEntry.complaint_id == complaint_id).order_by(TimelineEntry.seq))).all())

    async def customer_cases(self, customer_id: uuid.UUID) -> list[Complaint]:
        return list((await self.session.scalars(self.select(Complaint).where(Complaint.customer_id == customer_id))).all())

    async def blank_timeline_notes(self, complaint_id: uuid.UUID) -> None:
        await self.session.execute(self.update(TimelineEntry).where(
            TimelineEntry.complaint_id == complaint_id, TimelineEntry.note.is_not(None)).values(note=""))

    # --- SLA ------------------------------------------------------------------------------------

    async def governing_policies(self, org_path: str) -> list[SlaPolicy]:
        """The policies set at `org_path` or above it, nearest first."""
        return list((await self.session.scalars(select(SlaPolicy).where(
            SlaPolicy.org_path.in_(OrgPath(org_path).lineage)))).all())

    async def save_policy(self, values: dict[str, Any]) -> None:
        statement = self._insert(SlaPolicy).values(id=uuid.uuid4(), **values)
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["org_path", "priority"],
            set_={key: statement.excluded[key] for key in values if key not in ("org_path", "priority")}))

    async def breach_candidates(self, now: datetime, limit: int) -> list[Complaint]:
        """Cases that may have missed a target not yet recorded; the domain decides which."""
        def unrecorded(kind: str) -> Any:
            return ~exists().where(SlaBreach.complaint_id == Complaint.id, SlaBreach.kind == kind)

        first_response = and_(unrecorded("first_response"), or_(
            and_(Complaint.status == "new", Complaint.first_response_due < now),
            Complaint.first_responded_at > Complaint.first_response_due))
        resolution = and_(unrecorded("resolution"), or_(
            and_(Complaint.status.in_(OPEN_STATES), Complaint.clock_stopped_at.is_(None),
                 Complaint.resolution_due < now),
            Complaint.resolved_at > Complaint.resolution_due))
        return list((await self.session.scalars(self.select(Complaint).where(or_(first_response, resolution))
                                                .order_by(Complaint.opened_at).limit(limit))).all())

    async def record_breach(self, complaint: Complaint, kind: str, due_at: datetime, now: datetime) -> bool:
        """True when this call recorded the breach; False when it was already on record."""
        inserted = await self.session.scalar(self._insert(SlaBreach).values(
            id=uuid.uuid4(), complaint_id=complaint.id, org_path=complaint.org_path, kind=kind, due_at=due_at,
            detected_at=now).on_conflict_do_nothing(index_elements=["complaint_id", "kind"]).returning(SlaBreach.id))
        return inserted is not None

    # --- quality signals ------------------------------------------------------------------------

    def across_the_tree(self) -> AbstractAsyncContextManager[None]:
        """Lift the database wall for a quality-signal check: a group spans dealers the caller
        cannot see, and its symptom rows and signal are written wherever they belong."""
        return rls.acting_for(self.session, rls.SYSTEM_PATH)

    async def group_cases(self, vehicle_model: str, symptom_code: str, since: datetime) -> list[ComplaintSymptom]:
        """Every dealer's cases of the group count, so this reads across the whole tree on purpose."""
        return list((await self.session.scalars(select(ComplaintSymptom).where(
            ComplaintSymptom.vehicle_model == vehicle_model, ComplaintSymptom.symptom_code == symptom_code,
            ComplaintSymptom.opened_at >= since).order_by(ComplaintSymptom.opened_at))).all())

    async def lock_group(self, vehicle_model: str, symptom_code: str) -> None:
        """Serialise the evidence of one (model, symptom) group until this transaction ends. Under
        READ COMMITTED two cases of a group arriving at once (two requests, two replicas) each add
        their row and count the group without the other's uncommitted one: neither reaches the
        threshold, and the signal that both together make is never raised. The second waits, then
        counts the first. Callers take their groups in sorted order (no deadlock). SQLite has one
        writer at a time: nothing to do there."""
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                       {"key": f"csloop.quality_group.{vehicle_model}\x1f{symptom_code}"})

    async def last_signal_at(self, vehicle_model: str, symptom_code: str) -> datetime | None:
        """A group's signals are owned above any one dealer: read across the tree, as its cases."""
        return await self.session.scalar(select(QualitySignal.created_at).where(
            QualitySignal.vehicle_model == vehicle_model, QualitySignal.symptom_code == symptom_code)
            .order_by(QualitySignal.created_at.desc()).limit(1))

    async def record_signal(self, values: dict[str, Any]) -> uuid.UUID | None:
        """The new signal's id, or None when this group and window already signalled."""
        return await self.session.scalar(self._insert(QualitySignal).values(id=uuid.uuid4(), **values)
                                         .on_conflict_do_nothing(
                                             index_elements=["vehicle_model", "symptom_code", "window_start"])
                                         .returning(QualitySignal.id))

    async def signals(self, page: PageParams) -> tuple[list[QualitySignal], str | None]:
        return await keyset_page(self.session, self.select(QualitySignal), QualitySignal, page)

    async def cases_page(self, params: PageParams) -> tuple[list[Complaint], str | None, dict[uuid.UUID, list[str]]]:
        """A page of cases with the SLA kinds each has breached (what a KPI rebuild replays)."""
        rows, cursor = await keyset_page(self.session, self.select(Complaint), Complaint, params)
        breaches = await self.session.execute(select(SlaBreach.complaint_id, SlaBreach.kind)
                                              .where(SlaBreach.complaint_id.in_([c.id for c in rows])))
        kinds: dict[uuid.UUID, list[str]] = {}
        for complaint_id, kind in breaches:
            kinds.setdefault(complaint_id, []).append(kind)
        return rows, cursor, kinds

    # --- technical requests ---------------------------------------------------------------------

    async def tech_request(self, request_id: uuid.UUID) -> TechRequest | None:
        return await self._first(self.select(TechRequest).where(TechRequest.id == request_id))

    async def tech_requests(self, where: TechRequestFilter, page: PageParams) -> tuple[list[TechRequest], str | None]:
        statement = self.select(TechRequest)
        for column, value in ((TechRequest.status, where.status), (TechRequest.dealer_code, where.dealer_code)):
            if value is not None:
                statement = statement.where(column == value)
        return await keyset_page(self.session, statement, TechRequest, page)

    async def tech_request_timeline(self, request_id: uuid.UUID) -> list[TechRequestTimelineEntry]:
        return list((await self.session.scalars(self.select(TechRequestTimelineEntry).where(
            TechRequestTimelineEntry.tech_request_id == request_id).order_by(TechRequestTimelineEntry.seq))).all())

    async def claim_tech_request_version(self, request: TechRequest, expected: int) -> bool:
        """As `claim_version`: of many writers holding one ETag, the database lets exactly one through."""
        now = utcnow()
        result = await self.session.execute(
            self.update(TechRequest).where(TechRequest.id == request.id, TechRequest.version == expected)
            .values(version=expected + 1, updated_at=now).returning(TechRequest.version))
        if result.scalar() is None:
            return False
        set_committed_value(request, "version", expected + 1)
        set_committed_value(request, "updated_at", now)
        return True

    async def tech_request_breach_candidates(self, now: datetime, limit: int) -> list[TechRequest]:
        """Open requests past their answer due time whose current level's breach is not on record."""
        recorded = exists().where(TechRequestBreach.tech_request_id == TechRequest.id,
                                  TechRequestBreach.escalation_level == TechRequest.escalation_level)
        return list((await self.session.scalars(self.select(TechRequest).where(
            TechRequest.status == "open", TechRequest.answer_due < now, ~recorded)
            .order_by(TechRequest.answer_due).limit(limit))).all())

    async def record_tech_request_breach(self, request: TechRequest, now: datetime) -> bool:
        """True when this call recorded the breach of the request's current level; False when it was on record."""
        inserted = await self.session.scalar(self._insert(TechRequestBreach).values(
            id=uuid.uuid4(), tech_request_id=request.id, org_path=request.org_path,
            escalation_level=request.escalation_level, handling_org_code=request.handling_org_code,
            due_at=request.answer_due, detected_at=now)
            .on_conflict_do_nothing(index_elements=["tech_request_id", "escalation_level"]).returning(TechRequestBreach.id))
        return inserted is not None
