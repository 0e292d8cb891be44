"""Each KPI of KPI.md for an org's subtree and a period, as Aggs per bucket.

`Buckets` says what the records pool into: the asked org as a whole (a summary, a trend), or
each org at one depth below it (rankings). Survey KPIs read the rollups, whose rows already
hold whole subtrees: the org's own rows, or those of the orgs at the ranked depth. KPIs over
windows (FIR, retention, penetration, SLA, the desk's of services/kpi/desk.py) read the indexed
fact tables and pool the records by their dealer path. A summary reads each table once for all
the KPIs it feeds.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kpi import desk, domain
from services.kpi.domain import KPIS, Agg, Case, Grouper, Visit, tally
from services.kpi.models import ComplaintFact, VisitFact
from services.kpi.repository import KpiRepository
from shared.db import utcnow
from shared.org_path import OrgPath
from shared.types import Period

# integrity_flag_rate: a share over every response received, flagged or not (repository_facts._count_response).
ROLLUP_KPIS = ("csi", "ssi", "nps", "integrity_flag_rate")
# response_rate: responses to our own invitations (imported third-party results had none) per invitation.
RATE_METRICS = ("invited_responses", "invitations")
# The responses held out of each survey KPI (flagged and not reviewed valid): the summary's `n_excluded`.
EXCLUDED = {"csi": "excluded_csi", "ssi": "excluded_ssi", "nps": "excluded_nps",
            "response_rate": "excluded_invited_responses"}
SURVEY_METRICS = (*ROLLUP_KPIS, *RATE_METRICS, *EXCLUDED.values())
COMPLAINT_TIMES = (ComplaintFact.opened_at, ComplaintFact.resolved_at, ComplaintFact.first_response_due,
                   ComplaintFact.resolution_due)


@dataclass(frozen=True)
class Buckets:
    org_path: str
    depth: int | None = None  # None: the org as a whole

    def key(self, path: str) -> str:
        return self.org_path if self.depth is None else OrgPath(path).at_depth(self.depth)


def counted(counts: Iterable[tuple[str, int]], group: Grouper) -> dict[str, int]:
    """Counts by record path, added up per bucket."""
    out: dict[str, int] = {}
    for path, n in counts:
        key = group(path)
        out[key] = out.get(key, 0) + n
    return out


def ratio(numerators: dict[str, int], denominators: dict[str, int]) -> dict[str, Agg]:
    """Rates (responses per invitation, complaints per visit) per bucket: n = denominator, s = 100 x numerator."""
    return {key: Agg(n, 100.0 * numerators.get(key, 0), 0.0) for key, n in denominators.items()}


def _in(moment: datetime | None, period: Period) -> bool:
    return moment is not None and period.start <= moment < period.end


class Figures:
    def __init__(self, repo: KpiRepository) -> None:
        self.repo = repo

    async def parts(self, kpi: str, period: Period, buckets: Buckets) -> dict[str, Agg]:
        """One KPI per bucket (rankings, a trend's months)."""
        if kpi in ROLLUP_KPIS or kpi == "response_rate":
            return _survey(await self._rollups((kpi,) if kpi in ROLLUP_KPIS else RATE_METRICS, period, buckets))[kpi]
        return await getattr(self, f"_{kpi}")(period, buckets)

    async def summary(self, org_path: str, org_code: str,
                      period: Period) -> tuple[dict[str, Agg], dict[str, int], dict[str, float]]:
        """Every KPI for the org as a whole, the responses held out of each survey KPI, and the org's
        targets: each table read once, all of them in one round trip on PostgreSQL (FIR's look-up of
        repeat visits at any dealer comes after)."""
        b, repo = Buckets(org_path), self.repo
        (rollups, targets, closed, (previous, current), delivered, cases, tasks, alerts, bookings, states,
         recalled) = await repo.read_all(
            repo.rollups(SURVEY_METRICS, domain.rollup_keys(period), org_path),
            repo.targets(org_code, period.label),
            repo.visits_closed(org_path, period.start, period.end),
            repo.visit_vins(org_path, *_retention_years(period)),
            repo.delivered_vins(org_path, *_units_in_operation(period)),
            repo.complaints(org_path, period.start, period.end, *COMPLAINT_TIMES),
            repo.followups_due(org_path, period.start, period.end),
            repo.alerts_with_cases(org_path, period.start, period.end),
            repo.appointments(org_path, period.start, period.end),
            repo.lifecycles_at(org_path, period.end),
            repo.recall_vins(org_path, period.end))
        out = _survey({metric: {org_path: agg} for metric, agg in rollups.items()})
        out["fir"] = await self._fir_of(closed, period, b)
        out["retention"] = domain.retention(previous, current, b.key)
        out["service_penetration"] = domain.penetration(current, delivered, b.key)
        out["complaint_rate"] = ratio(counted(((c.org_path, 1) for c in cases if _in(c.opened_at, period)), b.key),
                                      counted(((v.org_path, 1) for v in closed), b.key))
        out |= _complaint_kpis(cases, period, b)
        out |= desk.followups(tasks, utcnow(), b.key)
        out["alert_closure"] = _alerts_closed(alerts, b)
        out |= desk.appointments(bookings, period.start, period.end, b.key)
        out["repair_lead_hours"] = desk.repair_lead_hours(closed, b.key)
        out["lapsed_rate"] = domain.lapsed(states, b.key)
        out["recall_completion"] = tally(recalled, b.key)
        excluded = {kpi: rollups.get(metric, Agg()).n for kpi, metric in EXCLUDED.items()}
        return {kpi: out[kpi].get(org_path, Agg()) for kpi in KPIS}, excluded, targets

    async def _rollups(self, metrics: tuple[str, ...], period: Period, b: Buckets) -> dict[str, dict[str, Agg]]:
        months = domain.rollup_keys(period)
        if b.depth is None:
            return {metric: {b.org_path: agg} for metric, agg in (await self.repo.rollups(metrics, months, b.org_path)).items()}
        return await self.repo.rollups_at_depth(metrics, months, b.org_path, b.depth)

    async def _fir(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._fir_of(await self.repo.visits_closed(b.org_path, period.start, period.end, domain.FIR_TYPES),
                                  period, b)

    async def _fir_of(self, closed: list[Visit], period: Period, b: Buckets) -> dict[str, Agg]:
        fixes = [v for v in closed if v.visit_type in domain.FIR_TYPES]
        if not fixes:
            return {}
        later = await self.repo.visits_of_vins({v.vin for v in fixes}, period.start, period.end + domain.FIR_WINDOW)
        return domain.fir(fixes, later, b.key)

    async def fir_held_out(self, org_path: str, period: Period) -> list[tuple[Visit, list[Visit]]]:
        """Unverified repeat visits closed in the period under `org_path`, each with the other dealers'
        fixes it would have failed (a fix closed at most 30 days before the repeat opened)."""
        unverified = await self.repo.unverified_visits_closed(org_path, period.start, period.end)
        if not unverified:
            return []
        opened = [v.opened_at for v in unverified]
        fixes = await self.repo.fixes_of_vins({v.vin for v in unverified}, min(opened) - domain.FIR_WINDOW, max(opened))
        return domain.held_out(unverified, fixes)

    async def _retention(self, period: Period, b: Buckets) -> dict[str, Agg]:
        previous, current = await self.repo.visit_vins(b.org_path, *_retention_years(period))
        return domain.retention(previous, current, b.key)

    async def _service_penetration(self, period: Period, b: Buckets) -> dict[str, Agg]:
        (_previous, current), delivered = await self.repo.read_all(
            self.repo.visit_vins(b.org_path, *_retention_years(period)),
            self.repo.delivered_vins(b.org_path, *_units_in_operation(period)))
        return domain.penetration(current, delivered, b.key)

    async def _complaint_rate(self, period: Period, b: Buckets) -> dict[str, Agg]:
        complaints, visits = await self.repo.read_all(
            self.repo.count_by_path(ComplaintFact, ComplaintFact.opened_at, b.org_path, period.start, period.end),
            self.repo.count_by_path(VisitFact, VisitFact.closed_at, b.org_path, period.start, period.end))
        return ratio(counted(complaints.items(), b.key), counted(visits.items(), b.key))

    async def _complaints(self, kpi: str, time: Any, period: Period, b: Buckets) -> dict[str, Agg]:
        return _complaint_kpis(await self.repo.complaints(b.org_path, period.start, period.end, time), period, b)[kpi]

    async def _mttr_hours(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._complaints("mttr_hours", ComplaintFact.resolved_at, period, b)

    async def _sla_first_response(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._complaints("sla_first_response", ComplaintFact.first_response_due, period, b)

    async def _sla_resolution(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._complaints("sla_resolution", ComplaintFact.resolution_due, period, b)

    async def _followups(self, kpi: str, period: Period, b: Buckets) -> dict[str, Agg]:
        return desk.followups(await self.repo.followups_due(b.org_path, period.start, period.end), utcnow(), b.key)[kpi]

    async def _followup_on_time(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._followups("followup_on_time", period, b)

    async def _followup_contact_rate(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._followups("followup_contact_rate", period, b)

    async def _followup_dissatisfied_rate(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._followups("followup_dissatisfied_rate", period, b)

    async def _appointments(self, kpi: str, period: Period, b: Buckets) -> dict[str, Agg]:
        bookings = await self.repo.appointments(b.org_path, period.start, period.end)
        return desk.appointments(bookings, period.start, period.end, b.key)[kpi]

    async def _appointment_show_rate(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._appointments("appointment_show_rate", period, b)

    async def _appointment_lead_days(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return await self._appointments("appointment_lead_days", period, b)

    async def _repair_lead_hours(self, period: Period, b: Buckets) -> dict[str, Agg]:
        closed = await self.repo.visits_closed(b.org_path, period.start, period.end, domain.FIR_TYPES)
        return desk.repair_lead_hours(closed, b.key)

    async def _lapsed_rate(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return domain.lapsed(await self.repo.lifecycles_at(b.org_path, period.end), b.key)

    async def _recall_completion(self, period: Period, b: Buckets) -> dict[str, Agg]:
        """Completed over affected VINs as of the period's end, pooled by the VINs' dealers."""
        return tally(await self.repo.recall_vins(b.org_path, period.end), b.key)

    async def _alert_closure(self, period: Period, b: Buckets) -> dict[str, Agg]:
        return _alerts_closed(await self.repo.alerts_with_cases(b.org_path, period.start, period.end), b)

    async def complaint_counts(self, org_path: str, period: Period) -> dict[str, object]:
        cases = await self.repo.complaints(org_path, period.start, period.end, ComplaintFact.opened_at)
        by_category: dict[str, int] = {}
        for case in cases:
            by_category[case.category] = by_category.get(case.category, 0) + 1
        return {"opened": len(cases), "open": sum(c.is_open for c in cases),
                "breached": sum(c.breached_first_response or c.breached_resolution for c in cases),
                "by_category": dict(sorted(by_category.items()))}


def _retention_years(period: Period) -> tuple[datetime, datetime, datetime]:
    """Year Y is the 12 months ending with the period (the calendar year for `YYYY`): retention
    compares its VINs with the year before's, penetration counts them. (start of Y-1, start of Y, end)"""
    return domain.shift_months(period.end, -24), domain.shift_months(period.end, -12), period.end


def _units_in_operation(period: Period) -> tuple[datetime, datetime]:
    """Penetration's denominator: the VINs delivered in the 11 years ending with the period."""
    return domain.shift_months(period.end, -132), period.end


def _alerts_closed(alerts: list[tuple[str, Case | None]], b: Buckets) -> dict[str, Agg]:
    return tally(((path, case is not None and _resolved_in_time(case)) for path, case in alerts), b.key)


def _survey(rollups: dict[str, dict[str, Agg]]) -> dict[str, dict[str, Agg]]:
    """The survey KPIs from their rollups: the means as they are, the response rate from two counts."""
    out = {kpi: rollups.get(kpi, {}) for kpi in ROLLUP_KPIS}
    responses, invitations = (rollups.get(metric, {}) for metric in RATE_METRICS)
    out["response_rate"] = ratio({key: a.n for key, a in responses.items()}, {key: a.n for key, a in invitations.items()})
    return out


def _complaint_kpis(cases: list[Case], period: Period, b: Buckets) -> dict[str, dict[str, Agg]]:
    """MTTR over the cases resolved in the period; each SLA over the cases it fell due for in the
    period and is settled for: answered (resolved), or reported breached."""
    mttr: dict[str, Agg] = {}
    for case in cases:
        if _in(case.resolved_at, period):
            key = b.key(case.org_path)
            mttr[key] = mttr.get(key, Agg()) + domain.of_value(domain.hours(case.opened_at, case.resolved_at))
    first = tally(((c.org_path, _responded_in_time(c)) for c in cases if _in(c.first_response_due, period)
                   and (c.first_responded_at is not None or c.breached_first_response)), b.key)
    resolution = tally(((c.org_path, _resolved_in_time(c)) for c in cases if _in(c.resolution_due, period)
                        and (c.resolved_at is not None or c.breached_resolution)), b.key)
    return {"mttr_hours": mttr, "sla_first_response": first, "sla_resolution": resolution}


def _responded_in_time(case: Case) -> bool:
    responded = case.first_responded_at
    return responded is not None and not case.breached_first_response and responded <= case.first_response_due


def _resolved_in_time(case: Case) -> bool:
    """Resolved by the due time its last event carried (moved by time waiting on the customer), and
    never reported breached by the complaint service's SLA job."""
    return (case.resolved_at is not None and not case.breached_resolution
            and case.resolved_at <= case.resolution_due)
