"""KPI formulas (KPI.md): pooling, intervals, correlations, windows. No HTTP, no SQL.

Every KPI is carried as `Agg(n, s, ss)`: n records, the sum of their values and of the
squares. Its value is `s / n`, so pooling orgs or months is adding Aggs. Shares are sums of
100/0 per record (promoter share, first-time fix), NPS sums 100/0/-100 per respondent (its
mean is exactly promoters% - detractors%), rates put 100 x the numerator count in `s`.
"""

import functools
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.contracts.survey import Integrity
from shared.org_path import OrgPath
from shared.types import Period

Shape = Literal["mean", "share", "rate"]
Z95 = 1.959963984540054
FIR_WINDOW = timedelta(days=30)
FIR_TYPES = frozenset({"repair", "warranty"})
NPS_VALUES = {"promoter": 100.0, "passive": 0.0, "detractor": -100.0}


@dataclass(frozen=True)
class KpiSpec:
    shape: Shape
    lower_is_better: bool = False


KPIS: dict[str, KpiSpec] = {
    "csi": KpiSpec("mean"), "ssi": KpiSpec("mean"), "nps": KpiSpec("mean"),
    "response_rate": KpiSpec("rate"), "fir": KpiSpec("share"), "retention": KpiSpec("share"),
    "service_penetration": KpiSpec("rate"), "complaint_rate": KpiSpec("rate", lower_is_better=True),
    "mttr_hours": KpiSpec("mean", lower_is_better=True), "sla_first_response": KpiSpec("share"),
    "sla_resolution": KpiSpec("share"), "followup_on_time": KpiSpec("share"), "alert_closure": KpiSpec("share"),
    "followup_contact_rate": KpiSpec("share"), "followup_dissatisfied_rate": KpiSpec("share", lower_is_better=True),
    "appointment_show_rate": KpiSpec("share"), "appointment_lead_days": KpiSpec("mean", lower_is_better=True),
    "repair_lead_hours": KpiSpec("mean", lower_is_better=True),
    "integrity_flag_rate": KpiSpec("share", lower_is_better=True),
    "lapsed_rate": KpiSpec("share", lower_is_better=True),
    "recall_completion": KpiSpec("share"),
}


@dataclass(frozen=True)
class Agg:
    n: int = 0
    s: float = 0.0
    ss: float = 0.0

    def __add__(self, other: "Agg") -> "Agg":
        return Agg(self.n + other.n, self.s + other.s, self.ss + other.ss)

    @property
    def value(self) -> float | None:
        return self.s / self.n if self.n else None


def of_value(value: float) -> Agg:
    return Agg(1, value, value * value)


def share(hits: int, n: int) -> Agg:
    """n records of which `hits` count: values 100 or 0."""
    return Agg(n, 100.0 * hits, 10_000.0 * hits)


def pool(parts: Iterable[Agg]) -> Agg:
    """The parts' sums added column by column (not Agg by Agg: a ranking pools 500 of them)."""
    n, s, ss = 0, 0.0, 0.0
    for part in parts:
        n, s, ss = n + part.n, s + part.s, ss + part.ss
    return Agg(n, s, ss)


# Student t 97.5% quantiles for 1..29 degrees of freedom; from 30 on the normal 1.96 is close enough.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045)


def variance(agg: Agg) -> float | None:
    if agg.n < 2:
        return None
    mean = agg.s / agg.n
    return max(agg.ss - agg.n * mean * mean, 0.0) / (agg.n - 1)


def interval(kpi: str, agg: Agg, floor_variance: float = 0.0) -> tuple[float | None, float | None]:
    """95% interval: Wilson for shares and rates (as a share of the denominator), t/normal for means.

    `floor_variance` (a ranking passes the pooled variance of everyone ranked) keeps 3 identical
    scores from claiming a zero-width interval; small samples also pay Student's t.
    """
    if not agg.n:
        return None, None
    if KPIS[kpi].shape == "mean":
        var = max(variance(agg) or 0.0, floor_variance)
        if agg.n < 2 and not var:
            return None, None
        critical = _T975[agg.n - 2] if 2 <= agg.n < 31 else _T975[0] if agg.n == 1 else Z95
        half = critical * math.sqrt(var / agg.n)
        return agg.s / agg.n - half, agg.s / agg.n + half
    low, high = wilson(min(agg.s / 100.0, agg.n), agg.n)
    return 100.0 * low, 100.0 * high


def wilson(hits: float, n: int, z: float = Z95) -> tuple[float, float]:
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def rank_key(kpi: str, value: float | None, low: float | None, high: float | None) -> float:
    """Rank by the pessimistic end of the interval: 3 glowing responses do not beat 300 good ones."""
    if KPIS[kpi].lower_is_better:
        bound = high if high is not None else value
        return -(bound if bound is not None else math.inf)
    bound = low if low is not None else value
    return bound if bound is not None else -math.inf


def met(kpi: str, value: float | None, target: float | None) -> bool | None:
    if value is None or target is None:
        return None
    return value <= target if KPIS[kpi].lower_is_better else value >= target


# --- key drivers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairSums:
    """Sums over responses of a factor score x and the index y, enough for a pooled Pearson r."""

    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0

    def __add__(self, o: "PairSums") -> "PairSums":
        return PairSums(self.n + o.n, self.sx + o.sx, self.sy + o.sy, self.sxx + o.sxx, self.syy + o.syy,
                        self.sxy + o.sxy)


def pearson(p: PairSums) -> float | None:
    cov = p.n * p.sxy - p.sx * p.sy
    var_x, var_y = p.n * p.sxx - p.sx * p.sx, p.n * p.syy - p.sy * p.sy
    if p.n < 2 or var_x <= 1e-9 or var_y <= 1e-9:
        return None
    return cov / math.sqrt(var_x * var_y)


@dataclass(frozen=True)
class Driver:
    factor: str
    performance: float | None
    importance: float | None
    n: int
    quadrant: str | None = None


def drivers(sums: dict[str, PairSums], responses: int, min_responses: int) -> list[Driver]:
    """Performance, importance and quadrant per factor; importance needs `min_responses` responses."""
    rows = [Driver(factor, p.sx / p.n if p.n else None, pearson(p) if responses >= min_responses else None, p.n)
            for factor, p in sorted(sums.items())]
    perf = [d.performance for d in rows if d.performance is not None]
    imp = [d.importance for d in rows if d.importance is not None]
    if not perf or not imp:
        return rows
    mean_perf, mean_imp = sum(perf) / len(perf), sum(imp) / len(imp)
    return [Driver(d.factor, d.performance, d.importance, d.n, _quadrant(d, mean_perf, mean_imp)) for d in rows]


def _quadrant(d: Driver, mean_perf: float, mean_imp: float) -> str | None:
    if d.performance is None or d.importance is None:
        return None
    high_imp, high_perf = d.importance >= mean_imp, d.performance >= mean_perf
    if high_imp:
        return "keep_up" if high_perf else "improve_first"
    return "maintain" if high_perf else "low_priority"


# --- windows over records ---------------------------------------------------------------------

Grouper = Callable[[str], str]


@dataclass(frozen=True)
class Visit:
    org_path: str
    vin: str
    visit_type: str
    opened_at: datetime
    closed_at: datetime
    symptoms: frozenset[str]
    # The customer service found the visit's customer to be the VIN's owner on record (see `fails`).
    owner_verified: bool = True
    visit_id: uuid.UUID | None = None
    # False when the visit reported no open time (`opened_at` is then its close): no repair lead time.
    opened_reported: bool = True


@dataclass(frozen=True)
class Case:
    """A complaint as its KPIs see it (the complaint service's last event on it)."""

    org_path: str
    category: str
    is_open: bool
    opened_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    breached_first_response: bool
    breached_resolution: bool


@dataclass(frozen=True)
class Task:
    """A follow-up task: due, and done, unreachable, cancelled or still open, with what the call found.
    `kind` is None for a task recorded before the KPI service kept it (until a rebuild), `reached`
    None for a task done before calls had results (a legacy `/complete`: it counts as reached)."""

    org_path: str
    due_at: datetime | None
    completed_at: datetime | None
    kind: str | None = None
    status: str = "open"
    reached: bool | None = None
    satisfaction: str | None = None
    unreachable_at: datetime | None = None


@dataclass(frozen=True)
class Booking:
    """An appointment as its KPIs see it (the customer service's last `appointment.changed`)."""

    org_path: str
    status: str
    requested_at: datetime
    slot_at: datetime
    booked_at: datetime


def tally(rows: Iterable[tuple[str, bool]], group: Grouper) -> dict[str, Agg]:
    """(record path, whether it counts as a hit) -> the share of hits per bucket."""
    counts: dict[str, list[int]] = {}
    for path, hit in rows:
        c = counts.setdefault(group(path), [0, 0])
        c[0] += int(hit)
        c[1] += 1
    return {key: share(hits, n) for key, (hits, n) in counts.items()}


def fails(first: Visit, repeat: Visit) -> bool:
    """Whether `repeat` is evidence that `first` was not fixed: a repair/warranty visit of the same VIN
    sharing a symptom, opened after the close and at most 30 days later (30 days exactly: not fixed).

    A repeat at another dealer counts only when its customer is the owner on record: anyone can
    record a visit on any VIN, and a made-up customer must not sink a competitor's figure."""
    return (repeat is not first and repeat.visit_type in FIR_TYPES and repeat.vin == first.vin
            and first.closed_at < repeat.opened_at <= first.closed_at + FIR_WINDOW
            and bool(repeat.symptoms & first.symptoms)
            and (repeat.org_path == first.org_path or repeat.owner_verified))


def held_out_of(first: Visit, repeat: Visit) -> bool:
    """A repeat `fails` would count but for its unverified customer: listed for review, not counted."""
    return (repeat.org_path != first.org_path and not repeat.owner_verified
            and fails(first, replace(repeat, owner_verified=True)))


def by_vin(visits: Iterable[Visit]) -> dict[str, list[Visit]]:
    out: dict[str, list[Visit]] = {}
    for visit in visits:
        if visit.visit_type in FIR_TYPES:
            out.setdefault(visit.vin, []).append(visit)
    return out


def fir(closed: Iterable[Visit], later: Iterable[Visit], group: Grouper) -> dict[str, Agg]:
    """First-time fix: a repair/warranty visit is fixed unless a later visit `fails` it."""
    repeats = by_vin(later)
    counts: dict[str, list[int]] = {}
    for visit in closed:
        if visit.visit_type not in FIR_TYPES:
            continue
        repeat = any(fails(visit, v) for v in repeats.get(visit.vin, ()))
        tally = counts.setdefault(group(visit.org_path), [0, 0])
        tally[0] += 0 if repeat else 1
        tally[1] += 1
    return {key: share(hits, n) for key, (hits, n) in counts.items()}


def held_out(unverified: Iterable[Visit], earlier: Iterable[Visit]) -> list[tuple[Visit, list[Visit]]]:
    """Each unverified visit with the other dealers' fixes it would have failed (those it is held out of)."""
    fixes = by_vin(earlier)
    out = []
    for visit in unverified:
        spared = [first for first in fixes.get(visit.vin, ()) if held_out_of(first, visit)]
        if spared:
            out.append((visit, sorted(spared, key=lambda first: first.closed_at)))
    return out


def retention(previous: Iterable[tuple[str, str]], current: Iterable[tuple[str, str]], group: Grouper) -> dict[str, Agg]:
    """(org_path, vin) pairs with a visit in year Y-1 and in year Y: share of Y-1's VINs seen again in Y."""
    before, after = _vins_by_group(previous, group), _vins_by_group(current, group)
    return {key: share(len(vins & after.get(key, set())), len(vins)) for key, vins in before.items()}


def penetration(visited: Iterable[tuple[str, str]], delivered: Iterable[tuple[str, str]], group: Grouper) -> dict[str, Agg]:
    """Distinct VINs serviced in the 12 months over the units in operation (delivered in 11 years)."""
    serviced, uio = _vins_by_group(visited, group), _vins_by_group(delivered, group)
    return {key: Agg(len(vins), 100.0 * len(serviced.get(key, ())), 0.0) for key, vins in uio.items()}


def _vins_by_group(pairs: Iterable[tuple[str, str]], group: Grouper) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path, vin in pairs:
        out.setdefault(group(path), set()).add(vin)
    return out


def hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600.0


def shift_months(moment: datetime, months: int) -> datetime:
    """The same day-1 midnight `months` later (negative: earlier); periods start on the 1st."""
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def months_between(start: datetime, end: datetime) -> list[str]:
    """The `YYYY-MM` labels of [start, end), both on a month's first midnight."""
    out, cursor = [], start
    while cursor < end:
        out.append(f"{cursor.year:04d}-{cursor.month:02d}")
        cursor = shift_months(cursor, 1)
    return out


def month_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


@functools.lru_cache(maxsize=8192)  # a few per org: the same paths come with every event
def rollup_paths(org_path: str) -> tuple[OrgPath, ...]:
    """The orgs whose rollups a record at `org_path` adds to: each org whose subtree holds it, the
    record's own and every one above (the system's root "/" aside: no org reads it). A rollup row is
    then its org's whole subtree, so a figure reads its org's rows, never every dealer's."""
    return OrgPath(org_path).lineage[1:]


def rollup_periods(month: str) -> tuple[str, str]:
    """The rollup rows in time a record of `month` (YYYY-MM) adds to: its month's, and its year's
    (`YYYY`), so that a year's figure or ranking reads one row per org, not twelve."""
    return month, month[:4]


def rollup_keys(period: Period) -> list[str]:
    """The rollup rows in time that make up a period: a year's own row, else its months."""
    return [period.label] if len(period.label) == 4 else months_between(period.start, period.end)


# --- survey integrity ---------------------------------------------------------------------------


# The integrity statuses of responses that enter the KPIs (Integrity.counts), for SQL filters.
COUNTED = ("clean", "valid")


def flagged(integrity: Integrity) -> bool:
    """Whether the response was flagged, reviewed since or not (`integrity_flag_rate` counts it either way)."""
    return integrity.status != "clean" or bool(integrity.flags)


def integrity_after(stored: Integrity, reviewed_at: datetime | None, change: Integrity,
                    change_reviewed_at: datetime | None) -> tuple[Integrity, datetime | None]:
    """A response's integrity and review time after a flag or review event, whatever order they come in:
    a review (`change_reviewed_at` set) decides unless a later review is already known; a flag raised
    after submission never undoes a review. Flags accumulate (each one raised is a reason on record)."""
    flags = sorted(set(stored.flags) | set(change.flags))
    if change_reviewed_at is None:
        status = stored.status if stored.status in ("valid", "invalid") else change.status
        return Integrity(status=status, flags=flags), reviewed_at
    if reviewed_at is not None and change_reviewed_at < reviewed_at:
        return Integrity(status=stored.status, flags=flags), reviewed_at
    return Integrity(status=change.status, flags=flags), change_reviewed_at


def lapsed(states: Iterable[tuple[str, str]], group: Grouper) -> dict[str, Agg]:
    """lapsed_rate: of the customers with a vehicle (those who have had a service visit: a
    lifecycle other than prospect) at the period's end, the share lapsed. (customer's dealer path, lifecycle)."""
    return tally(((path, state == "lapsed") for path, state in states if state != "prospect"), group)
