"""Each KPI of KPI.md for an org's subtree and a period, as Aggs per group of dealer paths.

`group` maps a record's dealer path to the bucket it pools into: the asked org's path for a
summary, a dealer or distributor path for rankings. Survey KPIs read the monthly rollups;
KPIs over windows (FIR, retention, penetration, SLA) read the indexed fact tables.
"""

from collections.abc import Iterable

from services.kpi import domain
from services.kpi.domain import Agg, Grouper, Visit, share
from services.kpi.models import ComplaintFact, VisitFact
from services.kpi.repository import KpiRepository
from shared.db import utcnow
from shared.types import Period

ROLLUP_KPIS = ("csi", "ssi", "nps")


def grouped(parts: dict[str, Agg], group: Grouper) -> dict[str, Agg]:
    out: dict[str, Agg] = {}
    for path, agg in parts.items():
        key = group(path)
        out[key] = out.get(key, Agg()) + agg
    return out


def tally(rows: Iterable[tuple[str, bool]], group: Grouper) -> dict[str, Agg]:
    counts: dict[str, list[int]] = {}
    for path, hit in rows:
        c = counts.setdefault(group(path), [0, 0])
        c[0] += int(hit)
        c[1] += 1
    return {key: share(hits, n) for key, (hits, n) in counts.items()}


def ratio(numerators: dict[str, int], denominators: dict[str, int], group: Grouper) -> dict[str, Agg]:
    """Rates (responses per invitation, complaints per visit): n = denominator, s = 100 x numerator."""
    out: dict[str, Agg] = {}
    for path, n in denominators.items():
        key = group(path)
        out[key] = out.get(key, Agg()) + Agg(n, 100.0 * numerators.get(path, 0), 0.0)
    return out


class Figures:
    def __init__(self, repo: KpiRepository) -> None:
        self.repo = repo

    async def parts(self, kpi: str, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        return await getattr(self, f"_{kpi}")(org_path, period, group)

    async def _rollup(self, metric: str, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        months = domain.months_between(period.start, period.end)
        return grouped(await self.repo.rollups_by_path(metric, months, org_path), group)

    async def _csi(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        return await self._rollup("csi", org_path, period, group)

    async def _ssi(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        return await self._rollup("ssi", org_path, period, group)

    async def _nps(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        return await self._rollup("nps", org_path, period, group)

    async def _response_rate(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        months = domain.months_between(period.start, period.end)
        # Responses to our own invitations only: imported third-party results had none.
        responses = await self.repo.rollups_by_path("invited_responses", months, org_path)
        invitations = await self.repo.rollups_by_path("invitations", months, org_path)
        return ratio({p: a.n for p, a in responses.items()}, {p: a.n for p, a in invitations.items()}, group)

    async def _fir(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        closed = await self.repo.visits_closed(org_path, period.start, period.end, domain.FIR_TYPES)
        if not closed:
            return {}
        later = await self.repo.visits_of_vins({v.vin for v in closed}, period.start, period.end + domain.FIR_WINDOW)
        return domain.fir(closed, later, group)

    async def fir_held_out(self, org_path: str, period: Period) -> list[tuple[Visit, list[Visit]]]:
        """Unverified repeat visits closed in the period under `org_path`, each with the other dealers'
        fixes it would have failed (a fix closed at most 30 days before the repeat opened)."""
        unverified = await self.repo.unverified_visits_closed(org_path, period.start, period.end)
        if not unverified:
            return []
        opened = [v.opened_at for v in unverified]
        fixes = await self.repo.fixes_of_vins({v.vin for v in unverified}, min(opened) - domain.FIR_WINDOW, max(opened))
        return domain.held_out(unverified, fixes)

    async def _retention(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        """Year Y is the 12 months ending with the period (the calendar year for `YYYY`)."""
        year_start, previous_start = domain.shift_months(period.end, -12), domain.shift_months(period.end, -24)
        previous = await self.repo.visit_vins(org_path, previous_start, year_start)
        current = await self.repo.visit_vins(org_path, year_start, period.end)
        return domain.retention(previous, current, group)

    async def _service_penetration(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        visited = await self.repo.visit_vins(org_path, domain.shift_months(period.end, -12), period.end)
        delivered = await self.repo.delivered_vins(org_path, domain.shift_months(period.end, -132), period.end)
        return domain.penetration(visited, delivered, group)

    async def _complaint_rate(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        complaints = await self.repo.count_by_path(ComplaintFact, ComplaintFact.opened_at, org_path, period.start, period.end)
        visits = await self.repo.count_by_path(VisitFact, VisitFact.closed_at, org_path, period.start, period.end)
        return ratio(complaints, visits, group)

    async def _mttr_hours(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        out: dict[str, Agg] = {}
        for case in await self.repo.complaints(org_path, ComplaintFact.resolved_at, period.start, period.end):
            key = group(case.org_path)
            out[key] = out.get(key, Agg()) + domain.of_value(domain.hours(case.opened_at, case.resolved_at))
        return out

    async def _sla_first_response(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        """Complaints whose first response fell due in the period and is settled: answered, or breached."""
        cases = await self.repo.complaints(org_path, ComplaintFact.first_response_due, period.start, period.end)
        return tally(((c.org_path, _responded_in_time(c)) for c in cases
                      if c.first_responded_at is not None or c.breached_first_response), group)

    async def _sla_resolution(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        cases = await self.repo.complaints(org_path, ComplaintFact.resolution_due, period.start, period.end)
        return tally(((c.org_path, _resolved_in_time(c)) for c in cases
                      if c.resolved_at is not None or c.breached_resolution), group)

    async def _followup_on_time(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        """Tasks due in the period; one still open counts once its due time has passed."""
        now = utcnow()
        tasks = await self.repo.followups_due(org_path, period.start, period.end)
        return tally(((t.org_path, t.completed_at is not None and t.completed_at <= t.due_at) for t in tasks
                      if t.completed_at is not None or t.due_at < now), group)

    async def _alert_closure(self, org_path: str, period: Period, group: Grouper) -> dict[str, Agg]:
        rows = await self.repo.alerts_with_cases(org_path, period.start, period.end)
        return tally(((path, case is not None and _resolved_in_time(case)) for path, case in rows), group)

    async def complaint_counts(self, org_path: str, period: Period) -> dict[str, object]:
        cases = await self.repo.complaints(org_path, ComplaintFact.opened_at, period.start, period.end)
        by_category: dict[str, int] = {}
        for case in cases:
            by_category[case.category] = by_category.get(case.category, 0) + 1
        return {"opened": len(cases), "open": sum(c.is_open for c in cases),
                "breached": sum(c.breached_first_response or c.breached_resolution for c in cases),
                "by_category": dict(sorted(by_category.items()))}


def _responded_in_time(case: ComplaintFact) -> bool:
    responded = case.first_responded_at
    return responded is not None and not case.breached_first_response and responded <= case.first_response_due


def _resolved_in_time(case: ComplaintFact) -> bool:
    """Resolved by the due time its last event carried (moved by time waiting on the customer), and
    never reported breached by the complaint service's SLA job."""
    return (case.resolved_at is not None and not case.breached_resolution
            and case.resolved_at <= case.resolution_due)
