"""Reading facts and rollups, inside the caller's scope and the asked org's subtree.

Each read takes `org_path` (an org the caller sees) and returns rows keyed by the record's
dealer path, so the figures module can pool them for the org or group them for rankings. The
one exception, named and explained where it is, is FIR's lookup of repeat visits and of the
fixes they may fail: a repeat at any dealer may fail a fix. Rollup rows are whole subtrees
(services/kpi/deltas.py): an org's figure is its own rows, a ranking the rows of the orgs at
one depth below it.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from services.kpi.domain import FIR_TYPES, Agg, PairSums, Visit
from services.kpi.models import AlertFact, ComplaintFact, DeliveryFact, FactorRollup, FollowUpFact, Rollup, Target, VisitFact
from shared import rls
from shared.org_path import OrgPath
from shared.scope import ScopedRepository


class KpiRepository(ScopedRepository):
    def _in(self, model: Any, org_path: str, *columns: Any):  # noqa: ANN202 - a Select
        return self.select(model, *columns).where(model.org_path.startswith(OrgPath(org_path).prefix, autoescape=True))

    # --- rollups --------------------------------------------------------------------------------

    async def rollups(self, metrics: tuple[str, ...], months: list[str], org_path: str) -> dict[str, Agg]:
        """Each metric's sums over the months for the org's subtree: its own rows, one per metric and
        month, in one statement for any number of metrics."""
        statement = (self.select(Rollup, Rollup.metric, func.sum(Rollup.n), func.sum(Rollup.s), func.sum(Rollup.ss))
                     .where(Rollup.org_path == org_path, Rollup.metric.in_(metrics), Rollup.month.in_(months))
                     .group_by(Rollup.metric))
        return {metric: Agg(int(n), float(s), float(ss)) for metric, n, s, ss in await self.session.execute(statement)}

    async def rollups_at_depth(self, metrics: tuple[str, ...], months: list[str], org_path: str,
                               depth: int) -> dict[str, dict[str, Agg]]:
        """Metric -> org path -> sums over the months, for each org `depth` below the root in the org's
        subtree (a ranking's orgs): each its own subtree's rows."""
        statement = (self._in(Rollup, org_path, Rollup.metric, Rollup.org_path, func.sum(Rollup.n), func.sum(Rollup.s),
                              func.sum(Rollup.ss))
                     .where(_path_depth(Rollup.org_path) == depth, Rollup.metric.in_(metrics), Rollup.month.in_(months))
                     .group_by(Rollup.metric, Rollup.org_path))
        out: dict[str, dict[str, Agg]] = {}
        for metric, path, n, s, ss in await self.session.execute(statement):
            out.setdefault(metric, {})[path] = Agg(int(n), float(s), float(ss))
        return out

    async def rollups_by_month(self, metric: str, months: list[str], org_path: str) -> dict[str, Agg]:
        statement = self.select(Rollup, Rollup.month, Rollup.n, Rollup.s, Rollup.ss).where(
            Rollup.org_path == org_path, Rollup.metric == metric, Rollup.month.in_(months))
        return {month: Agg(int(n), float(s), float(ss)) for month, n, s, ss in await self.session.execute(statement)}

    async def factor_sums(self, kind: str, months: list[str], org_path: str) -> dict[str, PairSums]:
        c = FactorRollup
        statement = (self.select(c, c.factor, *(func.sum(col) for col in (c.n, c.sx, c.sy, c.sxx, c.syy, c.sxy)))
                     .where(c.org_path == org_path, c.kind == kind, c.month.in_(months)).group_by(c.factor))
        return {row[0]: PairSums(int(row[1]), *map(float, row[2:])) for row in await self.session.execute(statement)}

    # --- visits and deliveries ------------------------------------------------------------------

    async def visits_closed(self, org_path: str, start: datetime, end: datetime,
                            types: frozenset[str] | None = None) -> list[Visit]:
        """Visits closed in [start, end), of these types (None: every type)."""
        statement = self._in(VisitFact, org_path).where(VisitFact.closed_at >= start, VisitFact.closed_at < end)
        if types is not None:
            statement = statement.where(VisitFact.visit_type.in_(types))
        return [_visit(v) for v in await self.session.scalars(statement)]

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
                statement = select(VisitFact).where(VisitFact.vin.in_(ordered[i:i + 500]), *window)
                out += [_visit(v) for v in await self.session.scalars(statement)]
        return out

    async def unverified_visits_closed(self, org_path: str, start: datetime, end: datetime) -> list[Visit]:
        """Repair/warranty visits whose customer is not the owner on record: candidates to be held out."""
        statement = self._in(VisitFact, org_path).where(
            VisitFact.closed_at >= start, VisitFact.closed_at < end, VisitFact.visit_type.in_(FIR_TYPES),
            VisitFact.owner_verified.is_(False))
        return [_visit(v) for v in await self.session.scalars(statement)]

    async def visit_vins(self, org_path: str, start: datetime, split: datetime,
                         end: datetime) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(org path, VIN) of the visits closed in [start, split), and of those closed in [split, end)."""
        later = (VisitFact.closed_at >= split).label("later")
        statement = self._in(VisitFact, org_path, VisitFact.org_path, VisitFact.vin, later).where(
            VisitFact.closed_at >= start, VisitFact.closed_at < end).distinct()
        before: list[tuple[str, str]] = []
        after: list[tuple[str, str]] = []
        for path, vin, is_later in await self.session.execute(statement):
            (after if is_later else before).append((path, vin))
        return before, after

    async def delivered_vins(self, org_path: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
        statement = self._in(DeliveryFact, org_path, DeliveryFact.org_path, DeliveryFact.vin).where(
            DeliveryFact.delivered_at >= start, DeliveryFact.delivered_at < end).distinct()
        return [(path, vin) for path, vin in await self.session.execute(statement)]

    async def count_by_path(self, model: Any, column: Any, org_path: str, start: datetime, end: datetime) -> dict[str, int]:
        statement = (self._in(model, org_path, model.org_path, func.count()).where(column >= start, column < end)
                     .group_by(model.org_path))
        return {path: int(n) for path, n in await self.session.execute(statement)}

    # --- complaints, follow-ups, alerts ---------------------------------------------------------

    async def complaints(self, org_path: str, start: datetime, end: datetime, *columns: Any) -> list[ComplaintFact]:
        """Complaints with any of these times in [start, end): one read for every complaint KPI of a period."""
        statement = self._in(ComplaintFact, org_path).where(or_(*(and_(c >= start, c < end) for c in columns)))
        return list(await self.session.scalars(statement))

    async def followups_due(self, org_path: str, start: datetime, end: datetime) -> list[FollowUpFact]:
        statement = self._in(FollowUpFact, org_path).where(FollowUpFact.due_at >= start, FollowUpFact.due_at < end)
        return list(await self.session.scalars(statement))

    async def alerts_with_cases(self, org_path: str, start: datetime, end: datetime) -> list[tuple[str, ComplaintFact | None]]:
        statement = (self._in(AlertFact, org_path, AlertFact.org_path, ComplaintFact)
                     .outerjoin(ComplaintFact, ComplaintFact.survey_response_id == AlertFact.response_id)
                     .where(AlertFact.raised_at >= start, AlertFact.raised_at < end))
        return [(path, case) for path, case in await self.session.execute(statement)]

    # --- targets --------------------------------------------------------------------------------

    async def targets(self, org_code: str, period: str) -> dict[str, float]:
        statement = self.select(Target, Target.kpi, Target.target).where(Target.org_code == org_code,
                                                                         Target.period == period)
        return {kpi: target for kpi, target in await self.session.execute(statement)}


def _path_depth(column: Any) -> Any:
    """An org path's depth in SQL (`/A/B/` -> 2, as OrgPath.depth): its slashes less one, on any database."""
    return func.length(column) - func.length(func.replace(column, "/", "")) - 1


def _visit(v: VisitFact) -> Visit:
    return Visit(v.org_path, v.vin, v.visit_type, v.opened_at, v.closed_at, frozenset(v.symptom_codes or ()),
                 v.owner_verified, v.visit_id)
