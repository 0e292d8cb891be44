"""Reading facts and rollups, inside the caller's scope and the asked org's subtree.

Each read takes `org_path` (an org the caller sees) and returns rows keyed by the record's
dealer path, so the figures module can pool them for the org or group them for rankings. The
one exception, named and explained where it is, is FIR's lookup of repeat visits and of the
fixes they may fail: a repeat at any dealer may fail a fix. Rollup rows are whole subtrees
(services/kpi/deltas.py): an org's figure is its own rows, a ranking the rows of the orgs at
one depth below it.

A read is a `Read`: awaited, it runs alone; several go to `read_all`, which on PostgreSQL runs
them as one statement, one round trip (a summary's eight reads), each read's rows coming back
as a JSON array that is decoded by the read's column types.
"""

import uuid
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, Select, Uuid, and_, func, or_, select

from services.kpi.domain import FIR_TYPES, Agg, Case, PairSums, Task, Visit
from services.kpi.models import AlertFact, ComplaintFact, DeliveryFact, FactorRollup, FollowUpFact, Rollup, Target, VisitFact
from shared import rls
from shared.db import UTCDateTime
from shared.org_path import OrgPath
from shared.scope import ScopedRepository

T = TypeVar("T")
VISIT = (VisitFact.org_path, VisitFact.vin, VisitFact.visit_type, VisitFact.opened_at, VisitFact.closed_at,
         VisitFact.symptom_codes, VisitFact.owner_verified, VisitFact.visit_id)
CASE = (ComplaintFact.org_path, ComplaintFact.category, ComplaintFact.is_open, ComplaintFact.opened_at,
        ComplaintFact.first_response_due, ComplaintFact.resolution_due, ComplaintFact.first_responded_at,
        ComplaintFact.resolved_at, ComplaintFact.breached_first_response, ComplaintFact.breached_resolution)


@dataclass(frozen=True)
class Read(Generic[T]):
    """A scoped statement, what its rows become, and the repository that runs it when awaited."""

    statement: Select[Any]
    convert: Callable[[Sequence[Sequence[Any]]], T]
    repository: "KpiRepository"

    def __await__(self) -> Generator[Any, None, T]:
        return self.repository.read_all(self).__await__()


class KpiRepository(ScopedRepository):
    def _in(self, model: Any, org_path: str, *columns: Any):  # noqa: ANN202 - a Select
        return self.select(model, *columns).where(model.org_path.startswith(OrgPath(org_path).prefix, autoescape=True))

    def _read(self, statement: Select[Any], convert: Callable[[Sequence[Sequence[Any]]], T]) -> Read[T]:
        return Read(statement, convert, self)

    async def read_all(self, *reads: Read[Any]) -> Any:
        """The reads' results, in one round trip on PostgreSQL; one read each elsewhere (SQLite is in
        process: a round trip costs nothing there). A single read answers its result, several a list."""
        if len(reads) == 1 or self.session.get_bind().dialect.name != "postgresql":
            results = [r.convert(list(await self.session.execute(r.statement))) for r in reads]
        else:
            row = (await self.session.execute(select(*(_as_json_array(r.statement) for r in reads)))).one()
            results = [r.convert([_decoded(r.statement, item) for item in items]) for r, items in zip(reads, row, strict=True)]
        return results[0] if len(reads) == 1 else results

    # --- rollups --------------------------------------------------------------------------------

    def rollups(self, metrics: tuple[str, ...], months: list[str], org_path: str) -> Read[dict[str, Agg]]:
        """Each metric's sums over the months for the org's subtree: its own rows, one per metric and
        month, in one statement for any number of metrics."""
        statement = (self.select(Rollup, Rollup.metric, func.sum(Rollup.n), func.sum(Rollup.s), func.sum(Rollup.ss))
                     .where(Rollup.org_path == org_path, Rollup.metric.in_(metrics), Rollup.month.in_(months))
                     .group_by(Rollup.metric))
        return self._read(statement, lambda rows: {metric: Agg(int(n), float(s), float(ss)) for metric, n, s, ss in rows})

    def rollups_at_depth(self, metrics: tuple[str, ...], months: list[str], org_path: str,
                         depth: int) -> Read[dict[str, dict[str, Agg]]]:
        """Metric -> org path -> sums over the months, for each org `depth` below the root in the org's
        subtree (a ranking's orgs): each its own subtree's rows."""
        statement = (self._in(Rollup, org_path, Rollup.metric, Rollup.org_path, func.sum(Rollup.n), func.sum(Rollup.s),
                              func.sum(Rollup.ss))
                     .where(_path_depth(Rollup.org_path) == depth, Rollup.metric.in_(metrics), Rollup.month.in_(months))
                     .group_by(Rollup.metric, Rollup.org_path))

        def by_metric(rows: Sequence[Sequence[Any]]) -> dict[str, dict[str, Agg]]:
            out: dict[str, dict[str, Agg]] = {}
            for metric, path, n, s, ss in rows:
                out.setdefault(metric, {})[path] = Agg(int(n), float(s), float(ss))
            return out
        return self._read(statement, by_metric)

    def rollups_by_month(self, metric: str, months: list[str], org_path: str) -> Read[dict[str, Agg]]:
        statement = self.select(Rollup, Rollup.month, Rollup.n, Rollup.s, Rollup.ss).where(
            Rollup.org_path == org_path, Rollup.metric == metric, Rollup.month.in_(months))
        return self._read(statement, lambda rows: {month: Agg(int(n), float(s), float(ss)) for month, n, s, ss in rows})

    def factor_sums(self, kind: str, months: list[str], org_path: str) -> Read[dict[str, PairSums]]:
        c = FactorRollup
        statement = (self.select(c, c.factor, *(func.sum(col) for col in (c.n, c.sx, c.sy, c.sxx, c.syy, c.sxy)))
                     .where(c.org_path == org_path, c.kind == kind, c.month.in_(months)).group_by(c.factor))
        return self._read(statement, lambda rows: {row[0]: PairSums(int(row[1]), *map(float, row[2:])) for row in rows})

    # --- visits and deliveries ------------------------------------------------------------------

    def visits_closed(self, org_path: str, start: datetime, end: datetime,
                      types: frozenset[str] | None = None) -> Read[list[Visit]]:
        """Visits closed in [start, end), of these types (None: every type)."""
        statement = self._in(VisitFact, org_path, *VISIT).where(VisitFact.closed_at >= start, VisitFact.closed_at < end)
        if types is not None:
            statement = statement.where(VisitFact.visit_type.in_(types))
        return self._read(statement, _visits)

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

    def unverified_visits_closed(self, org_path: str, start: datetime, end: datetime) -> Read[list[Visit]]:
        """Repair/warranty visits whose customer is not the owner on record: candidates to be held out."""
        statement = self._in(VisitFact, org_path, *VISIT).where(
            VisitFact.closed_at >= start, VisitFact.closed_at < end, VisitFact.visit_type.in_(FIR_TYPES),
            VisitFact.owner_verified.is_(False))
        return self._read(statement, _visits)

    def visit_vins(self, org_path: str, start: datetime, split: datetime,
                   end: datetime) -> Read[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
        """(org path, VIN) of the visits closed in [start, split), and of those closed in [split, end)."""
        later = (VisitFact.closed_at >= split).label("later")
        statement = self._in(VisitFact, org_path, VisitFact.org_path, VisitFact.vin, later).where(
            VisitFact.closed_at >= start, VisitFact.closed_at < end).distinct()

        def split_years(rows: Sequence[Sequence[Any]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
            return ([(path, vin) for path, vin, is_later in rows if not is_later],
                    [(path, vin) for path, vin, is_later in rows if is_later])
        return self._read(statement, split_years)

    def delivered_vins(self, org_path: str, start: datetime, end: datetime) -> Read[list[tuple[str, str]]]:
        statement = self._in(DeliveryFact, org_path, DeliveryFact.org_path, DeliveryFact.vin).where(
            DeliveryFact.delivered_at >= start, DeliveryFact.delivered_at < end).distinct()
        return self._read(statement, lambda rows: [(path, vin) for path, vin in rows])

    def count_by_path(self, model: Any, column: Any, org_path: str, start: datetime, end: datetime) -> Read[dict[str, int]]:
        statement = (self._in(model, org_path, model.org_path, func.count()).where(column >= start, column < end)
                     .group_by(model.org_path))
        return self._read(statement, lambda rows: {path: int(n) for path, n in rows})

    # --- complaints, follow-ups, alerts ---------------------------------------------------------

    def complaints(self, org_path: str, start: datetime, end: datetime, *columns: Any) -> Read[list[Case]]:
        """Complaints with any of these times in [start, end): one read for every complaint KPI of a period."""
        statement = self._in(ComplaintFact, org_path, *CASE).where(or_(*(and_(c >= start, c < end) for c in columns)))
        return self._read(statement, lambda rows: [Case(*row) for row in rows])

    def followups_due(self, org_path: str, start: datetime, end: datetime) -> Read[list[Task]]:
        statement = self._in(FollowUpFact, org_path, FollowUpFact.org_path, FollowUpFact.due_at,
                             FollowUpFact.completed_at).where(FollowUpFact.due_at >= start, FollowUpFact.due_at < end)
        return self._read(statement, lambda rows: [Task(*row) for row in rows])

    def alerts_with_cases(self, org_path: str, start: datetime, end: datetime) -> Read[list[tuple[str, Case | None]]]:
        """Each alert's dealer path and the case opened for it (None: none yet); `known` tells a case
        from the outer join's row of nulls."""
        known = ComplaintFact.complaint_id.is_not(None).label("known")
        statement = (self._in(AlertFact, org_path, AlertFact.org_path, known, *CASE)
                     .outerjoin(ComplaintFact, ComplaintFact.survey_response_id == AlertFact.response_id)
                     .where(AlertFact.raised_at >= start, AlertFact.raised_at < end))
        return self._read(statement, lambda rows: [(row[0], Case(*row[2:]) if row[1] else None) for row in rows])

    # --- targets --------------------------------------------------------------------------------

    def targets(self, org_code: str, period: str) -> Read[dict[str, float]]:
        statement = self.select(Target, Target.kpi, Target.target).where(Target.org_code == org_code,
                                                                         Target.period == period)
        return self._read(statement, lambda rows: {kpi: target for kpi, target in rows})


def _path_depth(column: Any) -> Any:
    """An org path's depth in SQL (`/A/B/` -> 2, as OrgPath.depth): its slashes less one, on any database."""
    return func.length(column) - func.length(func.replace(column, "/", "")) - 1


def _visits(rows: Sequence[Sequence[Any]]) -> list[Visit]:
    return [Visit(path, vin, type_, opened, closed, frozenset(symptoms or ()), verified, visit_id)
            for path, vin, type_, opened, closed, symptoms, verified, visit_id in rows]


def _as_json_array(statement: Select[Any]) -> Any:
    """The statement's rows as one JSON array of arrays (a scalar subquery): `[]` when it has none."""
    rows = statement.subquery()
    return select(func.coalesce(func.json_agg(func.json_build_array(*rows.c), type_=JSON), func.json_build_array())
                  ).scalar_subquery()


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
