"""Reading facts and rollups, inside the caller's scope and the asked org's subtree.

Each read takes `org_path` (an org the caller sees) and returns rows keyed by the record's
dealer path, so the figures module can pool them for the org or group them for rankings. The
one exception, named and explained where it is, is FIR's lookup of repeat visits and of the
fixes they may fail: a repeat at any dealer may fail a fix. Rollup rows are whole subtrees
(services/kpi/deltas.py): an org's figure is its own rows, a ranking the rows of the orgs at
one depth below it.

Every statement is built once per process (`functools.cache`), from `_scoped`: the caller's
scope is one of its parameters (`scope`, bound from the repository's principal on every
execution), the asked org, the times and the months the others. A read is a `Read`:
awaited, it runs alone; several go to `read_all`, which on PostgreSQL runs them as one
statement, one round trip (a summary's nine reads), each read's rows coming back as a JSON
array decoded by the read's column types.
"""

import functools
import uuid
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, Uuid, and_, bindparam, case, func, literal_column, or_, select

from services.kpi.domain import COUNTED, FIR_TYPES, NPS_VALUES, Agg, Booking, Case, PairSums, Task, Visit
from services.kpi.models import (AlertFact, AppointmentFact, ComplaintFact, DeliveryFact, FactorRollup, FollowUpFact,
                                 LifecycleFact, RecallVinFact, ResponseFact, Rollup, StaffMember, Target, VisitFact)
from shared import rls
from shared.db import UTCDateTime
from shared.org_path import OrgPath
from shared.scope import ScopedRepository, like_prefix

T = TypeVar("T")
Rows = Sequence[Sequence[Any]]
VISIT = (VisitFact.org_path, VisitFact.vin, VisitFact.visit_type, VisitFact.opened_at, VisitFact.closed_at,
         VisitFact.symptom_codes, VisitFact.owner_verified, VisitFact.visit_id, VisitFact.opened_reported)
CASE = (ComplaintFact.org_path, ComplaintFact.category, ComplaintFact.is_open, ComplaintFact.opened_at,
        ComplaintFact.first_response_due, ComplaintFact.resolution_due, ComplaintFact.first_responded_at,
        ComplaintFact.resolved_at, ComplaintFact.breached_first_response, ComplaintFact.breached_resolution)


@dataclass(frozen=True)
class Read(Generic[T]):
    """A statement built once, this call's parameters, what its rows become, and the repository that
    runs it (in the caller's scope) when awaited."""

    statement: Select[Any]
    params: dict[str, Any]
    convert: Callable[[Rows], T]
    repository: "KpiRepository"

    def __await__(self) -> Generator[Any, None, T]:
        return self.repository.read_all(self).__await__()


class KpiRepository(ScopedRepository):
    def _read(self, statement: Select[Any], convert: Callable[[Rows], T], **params: Any) -> Read[T]:
        return Read(statement, params, convert, self)

    async def read_all(self, *reads: Read[Any]) -> Any:
        """The reads' results, in one round trip on PostgreSQL; one read each elsewhere (SQLite is in
        process: a round trip costs nothing there). A single read answers its result, several a list."""
        scope = {"scope": like_prefix(self.principal.path.prefix)}
        # Core statements on the session's connection (its transaction, its org setting): the ORM's
        # execution layer has nothing to add to rows of plain columns, and cost a ranking's 500 rows 1-2 ms.
        connection = await self.session.connection()
        if len(reads) == 1 or connection.dialect.name != "postgresql":
            results = [r.convert((await connection.execute(r.statement, r.params | scope)).all()) for r in reads]
            return results[0] if len(reads) == 1 else results
        params = scope
        for r in reads:
            params |= r.params
        row = (await connection.execute(_together(tuple(r.statement for r in reads)), params)).one()
        return [r.convert([_decoded(r.statement, item) for item in items]) for r, items in zip(reads, row, strict=True)]

    # --- rollups --------------------------------------------------------------------------------

    def rollups(self, metrics: tuple[str, ...], months: list[str], org_path: str) -> Read[dict[str, Agg]]:
        """Each metric's sums over the months for the org's subtree: its own rows, one per metric and
        month, in one statement for any number of metrics."""
        return self._read(_rollups(), lambda rows: {metric: Agg(int(n), float(s), float(ss)) for metric, n, s, ss in rows},
                          rollups_org=org_path, rollups_metrics=list(metrics), rollups_months=months)

    def rollups_at_depth(self, metrics: tuple[str, ...], months: list[str], org_path: str,
                         depth: int) -> Read[dict[str, dict[str, Agg]]]:
        """Metric -> org path -> sums over the months, for each org `depth` below the root in the org's
        subtree (a ranking's orgs): each its own subtree's rows."""
        def by_metric(rows: Rows) -> dict[str, dict[str, Agg]]:
            out: dict[str, dict[str, Agg]] = {}
            for metric, path, n, s, ss in rows:
                out.setdefault(metric, {})[path] = Agg(int(n), float(s), float(ss))
            return out
        return self._read(_rollups_at_depth(), by_metric, under=_under(org_path), depth=depth, metrics=list(metrics),
                          months=months)

    def rollups_by_month(self, metric: str, months: list[str], org_path: str) -> Read[dict[str, Agg]]:
        return self._read(_rollups_by_month(), lambda rows: {m: Agg(int(n), float(s), float(ss)) for m, n, s, ss in rows},
                          org=org_path, metric=metric, months=months)

    def factor_sums(self, kind: str, months: list[str], org_path: str) -> Read[dict[str, PairSums]]:
        return self._read(_factor_sums(), lambda rows: {row[0]: PairSums(int(row[1]), *map(float, row[2:])) for row in rows},
                          org=org_path, kind=kind, months=months)

    # --- visits and deliveries ------------------------------------------------------------------

    def visits_closed(self, org_path: str, start: datetime, end: datetime,
                      types: frozenset[str] | None = None) -> Read[list[Visit]]:
        """Visits closed in [start, end), of these types (None: every type)."""
        typed = {"visits_types": sorted(types)} if types is not None else {}
        return self._read(_visits_closed(types is not None), _visits, visits_under=_under(org_path), visits_start=start,
                          visits_end=end, **typed)

    async def visits_of_vins(self, vins: set[str], opened_from: datetime, opened_to: datetime) -> list[Visit]:
        """Any dealer's visits of these VINs opened in (from, to]: the repeats that may fail a fix."""
        return await self._any_dealers_visits(vins, VisitFact.opened_at > opened_from, VisitFact.opened_at <= opened_to)

    async def fixes_of_vins(self, vins: set[str], closed_from: datetime, closed_to: datetime) -> list[Visit]:
        """Any dealer's visits of these VINs closed in [from, to): the fixes a repeat may fail."""
        return await self._any_dealers_visits(vins, VisitFact.closed_at >= closed_from, VisitFact.closed_at < closed_to)

    async def _any_dealers_visits(self, vins: set[str], *window: Any) -> list[Visit]:
        """Reads across the tree on purpose (row-level security widened to the whole tree for it): a
        repeat repair at another dealer, even of another network, still means the first one failed.
        The rows only feed the FIR formula and the held-out list, which name other dealers' visits
        only to a caller who sees them."""
        out: list[Visit] = []
        ordered = sorted(vins)
        async with rls.acting_for(self.session, rls.SYSTEM_PATH):
            for i in range(0, len(ordered), 500):
                statement = select(*VISIT).where(VisitFact.vin.in_(ordered[i:i + 500]), *window)
                out += _visits(list(await self.session.execute(statement)))
        return out

    async def repeat_causes(self, visit_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The causes recorded on these visits (those that name one): the repeats, at any dealer, that
        failed fixes of the caller's subtree. Across the tree as `_any_dealers_visits`; only counts
        of causes reach the caller (GET /v1/kpi/fir-causes)."""
        out: dict[uuid.UUID, str] = {}
        ordered = sorted(visit_ids)
        async with rls.acting_for(self.session, rls.SYSTEM_PATH):
            for i in range(0, len(ordered), 500):
                rows = await self.session.execute(select(VisitFact.visit_id, VisitFact.repeat_cause).where(
                    VisitFact.visit_id.in_(ordered[i:i + 500]), VisitFact.repeat_cause.is_not(None)))
                out.update({visit_id: cause for visit_id, cause in rows})
        return out

    def unverified_visits_closed(self, org_path: str, start: datetime, end: datetime) -> Read[list[Visit]]:
        """Repair/warranty visits whose customer is not the owner on record: candidates to be held out."""
        return self._read(_unverified_visits_closed(), _visits, held_under=_under(org_path), held_start=start, held_end=end,
                          held_types=sorted(FIR_TYPES))

    def visit_vins(self, org_path: str, start: datetime, split: datetime,
                   end: datetime) -> Read[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
        """(org path, VIN) of the visits closed in [start, split), and of those closed in [split, end)."""
        def split_years(rows: Rows) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
            return ([(path, vin) for path, vin, later in rows if not later], [(path, vin) for path, vin, later in rows if later])
        return self._read(_visit_vins(), split_years, vins_under=_under(org_path), vins_start=start, vins_split=split,
                          vins_end=end)

    def delivered_vins(self, org_path: str, start: datetime, end: datetime) -> Read[list[tuple[str, str]]]:
        return self._read(_delivered_vins(), lambda rows: [(path, vin) for path, vin in rows],
                          delivered_under=_under(org_path), delivered_start=start, delivered_end=end)

    def count_by_path(self, model: Any, column: Any, org_path: str, start: datetime, end: datetime) -> Read[dict[str, int]]:
        return self._read(_count_by_path(model, column.key), lambda rows: {path: int(n) for path, n in rows},
                          **{f"{model.__tablename__}_under": _under(org_path), f"{model.__tablename__}_start": start,
                             f"{model.__tablename__}_end": end})

    # --- complaints, follow-ups, alerts ---------------------------------------------------------

    def complaints(self, org_path: str, start: datetime, end: datetime, *columns: Any) -> Read[list[Case]]:
        """Complaints with any of these times in [start, end): one read for every complaint KPI of a period."""
        return self._read(_complaints(tuple(c.key for c in columns)), lambda rows: [Case(*row) for row in rows],
                          cases_under=_under(org_path), cases_start=start, cases_end=end)

    def followups_due(self, org_path: str, start: datetime, end: datetime) -> Read[list[Task]]:
        return self._read(_followups_due(), lambda rows: [Task(*row) for row in rows],
                          tasks_under=_under(org_path), tasks_start=start, tasks_end=end)

    def appointments(self, org_path: str, start: datetime, end: datetime) -> Read[list[Booking]]:
        """Appointments with their slot or their booking in [start, end): every appointment KPI of a period."""
        return self._read(_appointments(), lambda rows: [Booking(*row) for row in rows],
                          bookings_under=_under(org_path), bookings_start=start, bookings_end=end)

    def lifecycles_at(self, org_path: str, end: datetime) -> Read[list[tuple[str, str]]]:
        """Each customer's lifecycle as their latest change before `end` left it: (dealer path, lifecycle)."""
        return self._read(_lifecycles_at(), lambda rows: [(path, state) for path, state in rows],
                          lifecycle_under=_under(org_path), lifecycle_end=end)

    def alerts_with_cases(self, org_path: str, start: datetime, end: datetime) -> Read[list[tuple[str, Case | None]]]:
        """Each alert's dealer path and the case opened for it (None: none yet)."""
        return self._read(_alerts_with_cases(), lambda rows: [(row[0], Case(*row[2:]) if row[1] else None) for row in rows],
                          alerts_under=_under(org_path), alerts_start=start, alerts_end=end)

    def recall_vins(self, org_path: str, end: datetime) -> Read[list[tuple[str, bool]]]:
        """Each VIN affected by a recall before `end`, by its dealer's path, and whether it was completed before `end`."""
        return self._read(_recall_vins(), lambda rows: [(path, bool(done)) for path, done in rows],
                          recalls_under=_under(org_path), recalls_end=end)

    # --- targets --------------------------------------------------------------------------------

    def targets(self, org_code: str, period: str) -> Read[dict[str, float]]:
        return self._read(_targets(), lambda rows: {kpi: target for kpi, target in rows},
                          targets_org=org_code, targets_period=period)

    # --- people (KPI.md, People KPIs) -----------------------------------------------------------

    def staff_scores(self, metric: str, kind: str, column: str, org_path: str, start: datetime,
                     end: datetime) -> Read[dict[tuple[str, str], Agg]]:
        """(dealer path, staff code) -> the sums of a survey KPI (csi, ssi, nps) over the `kind` responses
        submitted in [start, end) that name someone in `column` (advisor, technician, sales_consultant),
        grouped in SQL: a network's year is one row per person, not one per response."""
        def by_person(rows: Rows) -> dict[tuple[str, str], Agg]:
            return {(path, code): Agg(int(n), float(s), float(ss)) for path, code, n, s, ss in rows}
        key = f"people_{column}"
        return self._read(_staff_scores(metric, kind, (column,), True, key), by_person,
                          **{f"{key}_under": _under(org_path), f"{key}_start": start, f"{key}_end": end})

    def staffed_scores(self, metric: str, kind: str, columns: tuple[str, ...], org_path: str, start: datetime,
                       end: datetime) -> Read[dict[str, Agg]]:
        """Dealer path -> the same sums over the responses that name anyone in `columns`, each response once
        (a department's figure)."""
        key = f"staffed_{kind}"
        return self._read(_staff_scores(metric, kind, columns, False, key),
                          lambda rows: {path: Agg(int(n), float(s), float(ss)) for path, n, s, ss in rows},
                          **{f"{key}_under": _under(org_path), f"{key}_start": start, f"{key}_end": end})

    def staffed_visits_closed(self, org_path: str, start: datetime,
                              end: datetime) -> Read[list[tuple[Visit, str | None, str | None]]]:
        """Repair and warranty visits closed in [start, end) with an advisor or a technician, each with both."""
        return self._read(_staffed_visits_closed(), lambda rows: [(visit, row[-2], row[-1]) for visit, row in
                                                                  zip(_visits([row[:-2] for row in rows]), rows, strict=True)],
                          staffed_under=_under(org_path), staffed_start=start, staffed_end=end,
                          staffed_types=sorted(FIR_TYPES))

    def assigned_followups_due(self, org_path: str, start: datetime, end: datetime) -> Read[list[tuple[Task, str]]]:
        """Follow-ups due in [start, end) that have an assignee, each with it."""
        return self._read(_assigned_followups_due(), lambda rows: [(Task(*row[:-1]), row[-1]) for row in rows],
                          assigned_under=_under(org_path), assigned_start=start, assigned_end=end)

    def staff_members(self, org_path: str) -> Read[dict[tuple[str, str], tuple[str, str]]]:
        """(dealer path, code) -> (name, role) of the staff of the dealers in the org's subtree."""
        return self._read(_staff_members(), lambda rows: {(path, code): (name, role) for path, code, name, role in rows},
                          members_under=_under(org_path))


# --- the statements, each built once --------------------------------------------------------------


def _scoped(model: Any, *columns: Any) -> Select[Any]:
    """Where every statement here starts: the rows of `model` in the caller's subtree (`scope`)."""
    return select(*columns).where(model.org_path.like(bindparam("scope"), escape="/"))


def _under(org_path: str) -> str:
    """The LIKE pattern of the asked org's subtree."""
    return like_prefix(OrgPath(org_path).prefix)


def _in_subtree(model: Any, name: str) -> Any:
    return model.org_path.like(bindparam(name), escape="/")


def _window(column: Any, key: str) -> Any:
    return and_(column >= bindparam(f"{key}_start"), column < bindparam(f"{key}_end"))


@functools.cache
def _rollups() -> Select[Any]:
    r = Rollup
    return (_scoped(r, r.metric, func.sum(r.n), func.sum(r.s), func.sum(r.ss))
            .where(r.org_path == bindparam("rollups_org"), r.metric.in_(bindparam("rollups_metrics", expanding=True)),
                   r.month.in_(bindparam("rollups_months", expanding=True))).group_by(r.metric))


@functools.cache
def _rollups_at_depth() -> Select[Any]:
    r = Rollup
    return (_scoped(r, r.metric, r.org_path, func.sum(r.n), func.sum(r.s), func.sum(r.ss))
            .where(_in_subtree(r, "under"), _path_depth(r.org_path) == bindparam("depth"),
                   r.metric.in_(bindparam("metrics", expanding=True)), r.month.in_(bindparam("months", expanding=True)))
            .group_by(r.metric, r.org_path))


@functools.cache
def _rollups_by_month() -> Select[Any]:
    r = Rollup
    return _scoped(r, r.month, r.n, r.s, r.ss).where(r.org_path == bindparam("org"), r.metric == bindparam("metric"),
                                                     r.month.in_(bindparam("months", expanding=True)))


@functools.cache
def _factor_sums() -> Select[Any]:
    c = FactorRollup
    return (_scoped(c, c.factor, *(func.sum(col) for col in (c.n, c.sx, c.sy, c.sxx, c.syy, c.sxy)))
            .where(c.org_path == bindparam("org"), c.kind == bindparam("kind"),
                   c.month.in_(bindparam("months", expanding=True))).group_by(c.factor))


@functools.cache
def _visits_closed(typed: bool) -> Select[Any]:
    statement = _scoped(VisitFact, *VISIT).where(_in_subtree(VisitFact, "visits_under"),
                                                 _window(VisitFact.closed_at, "visits"))
    return statement.where(VisitFact.visit_type.in_(bindparam("visits_types", expanding=True))) if typed else statement


@functools.cache
def _unverified_visits_closed() -> Select[Any]:
    return _scoped(VisitFact, *VISIT).where(_in_subtree(VisitFact, "held_under"), _window(VisitFact.closed_at, "held"),
                                            VisitFact.visit_type.in_(bindparam("held_types", expanding=True)),
                                            VisitFact.owner_verified.is_(False))


@functools.cache
def _visit_vins() -> Select[Any]:
    later = (VisitFact.closed_at >= bindparam("vins_split")).label("later")
    return (_scoped(VisitFact, VisitFact.org_path, VisitFact.vin, later)
            .where(_in_subtree(VisitFact, "vins_under"), _window(VisitFact.closed_at, "vins")).distinct())


@functools.cache
def _delivered_vins() -> Select[Any]:
    return (_scoped(DeliveryFact, DeliveryFact.org_path, DeliveryFact.vin)
            .where(_in_subtree(DeliveryFact, "delivered_under"), _window(DeliveryFact.delivered_at, "delivered")).distinct())


@functools.cache
def _count_by_path(model: Any, column: str) -> Select[Any]:
    key = model.__tablename__
    return (_scoped(model, model.org_path, func.count())
            .where(_in_subtree(model, f"{key}_under"), _window(getattr(model, column), key)).group_by(model.org_path))


@functools.cache
def _complaints(columns: tuple[str, ...]) -> Select[Any]:
    times = (getattr(ComplaintFact, name) for name in columns)
    return _scoped(ComplaintFact, *CASE).where(_in_subtree(ComplaintFact, "cases_under"),
                                               or_(*(_window(column, "cases") for column in times)))


@functools.cache
def _followups_due() -> Select[Any]:
    f = FollowUpFact
    return (_scoped(f, f.org_path, f.due_at, f.completed_at, f.kind, f.status, f.reached, f.satisfaction, f.unreachable_at)
            .where(_in_subtree(f, "tasks_under"), _window(f.due_at, "tasks")))


@functools.cache
def _appointments() -> Select[Any]:
    a = AppointmentFact
    return (_scoped(a, a.org_path, a.status, a.requested_at, a.slot_at, a.booked_at)
            .where(_in_subtree(a, "bookings_under"), or_(_window(a.slot_at, "bookings"), _window(a.booked_at, "bookings"))))


@functools.cache
def _lifecycles_at() -> Select[Any]:
    """Each customer's latest lifecycle change before the end. The inner select only looks for a later
    change of the same customer (correlated on customer_id): the outer, scoped statement confines both
    to the caller's subtree."""
    l, later = LifecycleFact, LifecycleFact.__table__.alias("later")
    newer = (select(later.c.customer_id).where(later.c.customer_id == l.customer_id, later.c.changed_at > l.changed_at,
                                               later.c.changed_at < bindparam("lifecycle_end", type_=UTCDateTime)))
    return (_scoped(l, l.org_path, l.lifecycle)
            .where(_in_subtree(l, "lifecycle_under"), l.changed_at < bindparam("lifecycle_end", type_=UTCDateTime),
                   ~newer.exists()))


@functools.cache
def _recall_vins() -> Select[Any]:
    r = RecallVinFact
    done = and_(r.completed_at.is_not(None), r.completed_at < bindparam("recalls_end"))
    return (_scoped(r, r.org_path, case((done, 1), else_=0))
            .where(_in_subtree(r, "recalls_under"), r.assigned_at < bindparam("recalls_end")))


@functools.cache
def _alerts_with_cases() -> Select[Any]:
    """`known` tells a case from the outer join's row of nulls."""
    known = ComplaintFact.complaint_id.is_not(None).label("known")
    return (_scoped(AlertFact, AlertFact.org_path, known, *CASE)
            .outerjoin(ComplaintFact, ComplaintFact.survey_response_id == AlertFact.response_id)
            .where(_in_subtree(AlertFact, "alerts_under"), _window(AlertFact.raised_at, "alerts")))


@functools.cache
def _targets() -> Select[Any]:
    return _scoped(Target, Target.kpi, Target.target).where(Target.org_code == bindparam("targets_org"),
                                                            Target.period == bindparam("targets_period"))


@functools.cache
def _staff_scores(metric: str, kind: str, columns: tuple[str, ...], by_staff: bool, key: str) -> Select[Any]:
    """n, sum and sum of squares of a survey KPI's per-response value (the rollups': the index for csi and
    ssi, NPS_VALUES for nps) per dealer path, and per staff code of `columns[0]` when `by_staff`; only the
    responses that count, as in the rollups (survey integrity)."""
    r = ResponseFact
    value = (case(*((r.nps_category == category, literal_column(repr(points))) for category, points in NPS_VALUES.items()))
             if metric == "nps" else r.index_score)
    staff = [getattr(r, column) for column in columns]
    grouping = [r.org_path, staff[0]] if by_staff else [r.org_path]
    return (_scoped(r, *grouping, func.count(value), func.sum(value), func.sum(value * value))
            .where(_in_subtree(r, f"{key}_under"), _window(r.submitted_at, key), r.kind == kind, value.is_not(None),
                   r.integrity_status.in_(COUNTED), or_(*(column.is_not(None) for column in staff)))
            .group_by(*grouping))


@functools.cache
def _staffed_visits_closed() -> Select[Any]:
    v = VisitFact
    return (_scoped(v, *VISIT, v.advisor, v.technician)
            .where(_in_subtree(v, "staffed_under"), _window(v.closed_at, "staffed"),
                   v.visit_type.in_(bindparam("staffed_types", expanding=True)),
                   or_(v.advisor.is_not(None), v.technician.is_not(None))))


@functools.cache
def _assigned_followups_due() -> Select[Any]:
    f = FollowUpFact
    return (_scoped(f, f.org_path, f.due_at, f.completed_at, f.kind, f.status, f.reached, f.satisfaction, f.unreachable_at,
                    f.assignee)
            .where(_in_subtree(f, "assigned_under"), _window(f.due_at, "assigned"), f.assignee.is_not(None)))


@functools.cache
def _staff_members() -> Select[Any]:
    s = StaffMember
    return _scoped(s, s.org_path, s.code, s.name, s.role).where(_in_subtree(s, "members_under"))


# Bounded, unlike the reads' caches: its key is the reads' statements, so a read whose statement were
# built per call would make a new entry per call (a summary's heap grew without end that way once).
@functools.lru_cache(maxsize=64)
def _together(statements: tuple[Select[Any], ...]) -> Select[Any]:
    """One row whose i-th column holds the rows of the i-th statement as a JSON array of arrays (the
    statements' parameters have names of their own, so they do not collide)."""
    def as_json(i: int, statement: Select[Any]) -> Any:
        rows = statement.subquery()
        array = func.coalesce(func.json_agg(func.json_build_array(*rows.c)), func.json_build_array())
        return select(array).scalar_subquery().label(f"read_{i}")
    return select(*(as_json(i, statement) for i, statement in enumerate(statements)))


def _path_depth(column: Any) -> Any:
    """An org path's depth in SQL (`/A/B/` -> 2, as OrgPath.depth): its slashes less one, on any database."""
    return func.length(column) - func.length(func.replace(column, "/", "")) - 1


def _visits(rows: Rows) -> list[Visit]:
    return [Visit(path, vin, type_, opened, closed, frozenset(symptoms or ()), verified, visit_id, opened_reported)
            for path, vin, type_, opened, closed, symptoms, verified, visit_id, opened_reported in rows]


def _decoded(statement: Select[Any], item: list[Any]) -> tuple[Any, ...]:
    """A row that came back as JSON, with the types the statement's columns would have given it."""
    return tuple(_decode(column.type, value) for column, value in zip(statement.selected_columns, item, strict=True))


def _decode(type_: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(type_, UTCDateTime):
        return datetime.fromisoformat(value).astimezone(UTC)
    if isinstance(type_, Uuid):
        return uuid.UUID(value)
    return value
