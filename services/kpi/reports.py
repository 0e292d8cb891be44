"""The KPI use cases behind the API: summary, rankings, trends, drivers, targets.

Values stay unrounded here; `shown` rounds to one decimal only as a figure leaves the service.
"""

import functools
from dataclasses import dataclass

from services.kpi import domain
from services.kpi.domain import KPIS, Agg
from services.kpi.figures import ROLLUP_KPIS, Buckets, Figures
from services.kpi.orgs import CallerSubtrees
from services.kpi.repository import KpiRepository
from services.kpi.repository_facts import FactStore
from services.kpi.schemas import (ComplaintCounts, DriverFactor, FirHeldOut, HeldOutVisit, KpiDrivers, KpiFigure,
                                  KpiRankings, KpiSummary, KpiTarget, KpiTrend, Level, SparedFix,
                                  SurveyKind, TrendPoint)
from shared.auth import Principal
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.orgs import OrgInfo
from shared.problems import Forbidden, NotFound, UnprocessableContent
from shared.types import Period

LEVEL_DEPTH = {"distributor": 2, "dealer": 3}  # OrgPath.depth: /OEM/ 1 > /OEM/DN/ 2 > /OEM/DN/D1/ 3


def shown(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def parse_period(label: str, field: str = "period") -> Period:
    try:
        return Period.parse(label)
    except ValueError as exc:
        raise UnprocessableContent(str(exc), errors=[{"field": field, "message": str(exc)}]) from exc


def check_kpi(kpi: str) -> str:
    if kpi not in KPIS:
        raise UnprocessableContent(f"Unknown KPI '{kpi}'", errors=[{"field": "kpi", "message": f"one of {', '.join(KPIS)}"}])
    return kpi


async def org_for(subtrees: CallerSubtrees, principal: Principal, code: str | None, *, in_body: bool = False) -> OrgInfo:
    """The asked org, or the caller's own; one outside the caller's subtree is the same answer as an unknown
    one (same body, same directory calls: see `services.kpi.orgs`): a 404 for a query parameter, a 422
    for a body field (API.md: a body naming a record that is unknown or invisible)."""
    if code is None or code == principal.org_code:
        return OrgInfo(code=principal.org_code, name=principal.org_code, kind=principal.org_kind, path=principal.org_path)
    org = await subtrees.find(principal.org_path, code)
    if org is None or not principal.sees(org.path):
        refusal = UnprocessableContent if in_body else NotFound
        raise refusal("No such organisation in yours", errors=[{"field": "org_code", "message": "unknown organisation"}])
    return org


def check_sets_target_from_above(principal: Principal, org: OrgInfo) -> None:
    """Targets decide whether a KPI is "met" (and rebates): an org never sets its own, the one above it does.
    The root manufacturer has no one above it, so it sets its own."""
    root_itself = org.path == principal.org_path and principal.org_kind == "manufacturer" and OrgPath(org.path).depth == 1
    if not root_itself and not principal.path.is_above(org.path):
        raise Forbidden("A target is set by an organisation above the target's organisation",
                        errors=[{"field": "org_code", "message": "set from above"}])


@functools.lru_cache(maxsize=100_000)
def _code_at(path: str, depth: int) -> str | None:
    """The code of the org at `path` if it is `depth` below the root, else None: asked for every ranked
    org of every ranking (500 dealers), so each path is parsed once per process, not once per ranking."""
    codes = OrgPath(path).codes
    return codes[-1] if len(codes) == depth else None


def _code(path: str) -> str:
    return OrgPath(path).code or ""


@dataclass
class Reports:
    repo: KpiRepository
    subtrees: CallerSubtrees

    async def summary(self, org: OrgInfo, period: Period) -> KpiSummary:
        values, excluded, targets = await Figures(self.repo).summary(org.path, org.code, period)
        kpis = {kpi: KpiFigure(value=shown(agg.value), n=agg.n, n_excluded=excluded.get(kpi, 0), target=targets.get(kpi),
                               met=domain.met(kpi, agg.value, targets.get(kpi))) for kpi, agg in values.items()}
        return KpiSummary(org_code=org.code, period=period.label, kpis=kpis)

    async def rankings(self, kpi: str, level: Level, org: OrgInfo, period: Period) -> KpiRankings:
        depth = LEVEL_DEPTH[level]
        if OrgPath(org.path).depth > depth:
            raise UnprocessableContent(f"A {org.kind} has no {level}s under it", errors=[{"field": "level", "message": "below the org"}])
        parts = await Figures(self.repo).parts(kpi, period, Buckets(org.path, depth))
        floor = domain.variance(domain.pool(parts.values())) or 0.0
        # (-rank key, path, ...): sorted as they are, best first, ties by path (paths are unique).
        rows = []
        for path, agg in parts.items():
            code = _code_at(path, depth)
            if agg.n and code is not None:
                low, high = domain.interval(kpi, agg, floor)
                rows.append((-domain.rank_key(kpi, agg.s / agg.n, low, high), path, code, agg, low, high))
        rows.sort()
        names = await self.subtrees.names(org.path, [row[2] for row in rows])
        # Plain dicts: the answer validates all of them at once (pydantic's core), not one object each.
        items = [{"rank": i, "org_code": code, "name": names.get(code, code), "value": round(agg.s / agg.n, 1),
                  "n": agg.n, "ci_low": None if low is None else round(low, 1),
                  "ci_high": None if high is None else round(high, 1)}
                 for i, (_key, _path, code, agg, low, high) in enumerate(rows, start=1)]
        return KpiRankings(kpi=kpi, period=period.label, level=level, org_code=org.code, items=items)

    async def trends(self, kpi: str, org: OrgInfo, first: Period, last: Period) -> KpiTrend:
        months = domain.months_between(first.start, last.end)
        if len(months) > 120:
            raise UnprocessableContent("A trend spans at most 120 months", errors=[{"field": "to", "message": "too far"}])
        if kpi in ROLLUP_KPIS:
            by_month = await self.repo.rollups_by_month(kpi, months, org.path)
        else:
            figures, whole = Figures(self.repo), Buckets(org.path)
            by_month = {m: (await figures.parts(kpi, Period.parse(m), whole)).get(org.path, Agg()) for m in months}
        points = [TrendPoint(period=m, value=shown(by_month.get(m, Agg()).value), n=by_month.get(m, Agg()).n)
                  for m in months]
        return KpiTrend(kpi=kpi, org_code=org.code, points=points)

    async def drivers(self, kind: SurveyKind, org: OrgInfo, period: Period, min_responses: int) -> KpiDrivers:
        months = domain.rollup_keys(period)
        responses = (await self.repo.rollups((kind,), months, org.path)).get(kind, Agg()).n
        found = domain.drivers(await self.repo.factor_sums(kind, months, org.path), responses, min_responses)
        factors = [DriverFactor(factor=d.factor, performance=shown(d.performance),
                                importance=None if d.importance is None else round(d.importance, 3), n=d.n,
                                quadrant=d.quadrant) for d in found]
        worst_first = sorted((d for d in found if d.quadrant == "improve_first"), key=lambda d: d.performance or 0.0)
        return KpiDrivers(kind=kind, org_code=org.code, period=period.label, responses=responses,
                          factors=factors, improve_first=[d.factor for d in worst_first])

    async def fir_held_out(self, org: OrgInfo, period: Period) -> FirHeldOut:
        """Repeat visits recorded under the org in the period that were held out of other dealers' FIR."""
        sees = self.repo.principal.sees
        items = [HeldOutVisit(visit_id=visit.visit_id, org_code=_code(visit.org_path), vin=visit.vin,
                              visit_type=visit.visit_type, opened_at=visit.opened_at, closed_at=visit.closed_at,
                              symptom_codes=sorted(visit.symptoms),
                              held_out_of=[SparedFix(visit_id=fix.visit_id, org_code=_code(fix.org_path),
                                                     closed_at=fix.closed_at) for fix in fixes if sees(fix.org_path)])
                 for visit, fixes in await Figures(self.repo).fir_held_out(org.path, period)]
        items.sort(key=lambda item: (item.closed_at, str(item.visit_id)))
        return FirHeldOut(org_code=org.code, period=period.label, items=items)

    async def complaints(self, org: OrgInfo, period: Period) -> ComplaintCounts:
        counts = await Figures(self.repo).complaint_counts(org.path, period)
        return ComplaintCounts(org_code=org.code, period=period.label, **counts)


async def set_target(store: FactStore, principal: Principal, org: OrgInfo, kpi: str, period: Period,
                     target: float) -> KpiTarget:
    check_sets_target_from_above(principal, org)
    await store.put_target({"org_code": org.code, "kpi": kpi, "period": period.label, "org_path": org.path,
                            "target": target, "updated_by": principal.subject, "updated_at": utcnow()})
    return KpiTarget(org_code=org.code, kpi=kpi, period=period.label, target=target)
