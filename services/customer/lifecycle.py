"""Where a customer stands with the dealer (issue 16, DOMAIN.md "Retention and value"): the
lifecycle from the service history and the value (RFM) within the dealer. Pure rules, no SQL:
the job's PostgreSQL statements (repository_standing.py) compute the same thing set-based, and
the SQLite path of `make run` computes it with these functions.

The service history is the customer's closed service visits (repair orders), each at its
`closed_at`; visits closed after the moment of computation do not count yet.

Lifecycle, at a moment `now`:
- prospect: no closed visit yet (a customer who bought but never came for service included);
- lapsed: the last visit was 12 months or more ago;
- at_risk: the last visit was 9 to under 12 months ago;
- won_back: otherwise, for 12 months after the first visit that follows a lapse (a visit 12
  months or more after the visit before it); being at risk or lapsed again comes first;
- active: otherwise (the last visit under 9 months ago).
Months are calendar months; a day past the end of the shorter month is its last day
(31 March minus one month is 28 or 29 February), as PostgreSQL's interval arithmetic does.

Value over the 24 months before `now`: recency (days since the last visit), frequency (visits)
and spend (the visits' `amount_minor`). Customers with a visit in those 24 months are scored
within their dealer: each of R (later last visit is better), F and M is a quintile 1..5
(5 best), `1 + 5 * (rank - 1) // n` with `rank` the 1-based rank of the customer's figure among
the dealer's n scored customers, worst first, ties sharing the lowest rank (so two customers
with the same figure always share a quintile). A customer with no visit in 24 months has no
RFM score and no segment.

Segments, the first rule that holds:
- champion: R >= 4, F >= 4 and M >= 4 (recent, frequent, high spend);
- loyal: R >= 3 and F >= 4 (comes back often, not lately lost);
- new: R >= 4 and exactly one visit in the 24 months (first visit, recent);
- at_risk: R <= 2 and (F >= 3 or M >= 3) (was worth something, has not come for a while);
- hibernating: R <= 2 (seldom, little, long ago);
- regular: everyone else.
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

LIFECYCLES = ("prospect", "active", "at_risk", "lapsed", "won_back")
SEGMENTS = ("champion", "loyal", "new", "at_risk", "hibernating", "regular")
AT_RISK_MONTHS = 9
LAPSED_MONTHS = 12
WON_BACK_MONTHS = 12
VALUE_MONTHS = 24


def shift_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by calendar months, the day clamped to the target month's last day."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Visit:
    closed_at: datetime
    amount_minor: int


@dataclass(frozen=True)
class History:
    """What the lifecycle and the value read of a customer's closed visits."""

    last_visit_at: datetime | None
    # The latest visit that came 12 months or more after the visit before it (a return from a
    # lapse), and when that lapse began (12 months after the visit before the return).
    returned_at: datetime | None
    returned_lapse_at: datetime | None
    # The latest visit that came 9 months or more after the one before it, or the first visit:
    # where the customer's current run of regular visits began.
    resumed_at: datetime | None
    frequency_24m: int
    monetary_24m_minor: int


def history_of(visits: Iterable[Visit], now: datetime) -> History:
    ordered = sorted((v for v in visits if v.closed_at <= now), key=lambda v: v.closed_at)
    since = shift_months(now, -VALUE_MONTHS)
    returned = returned_lapse = resumed = previous = None
    for visit in ordered:
        if previous is None or visit.closed_at >= shift_months(previous, AT_RISK_MONTHS):
            resumed = visit.closed_at
        if previous is not None and visit.closed_at >= shift_months(previous, LAPSED_MONTHS):
            returned, returned_lapse = visit.closed_at, shift_months(previous, LAPSED_MONTHS)
        previous = visit.closed_at
    recent = [v for v in ordered if v.closed_at >= since]
    return History(previous, returned, returned_lapse, resumed, len(recent), sum(v.amount_minor for v in recent))


@dataclass(frozen=True)
class Lifecycle:
    state: str
    since: datetime
    # The start of the customer's latest lapse (12 months after a visit with none after it),
    # kept after a return; None for a customer who never lapsed.
    lapsed_at: datetime | None


def lifecycle_of(history: History, now: datetime, created_at: datetime) -> Lifecycle:
    """The lifecycle at `now` and since when it holds (`created_at`: the customer's, for a prospect)."""
    last, returned = history.last_visit_at, history.returned_at
    if last is None:
        return Lifecycle("prospect", created_at, None)
    lapse_of_last = shift_months(last, LAPSED_MONTHS)
    if lapse_of_last <= now:
        return Lifecycle("lapsed", lapse_of_last, lapse_of_last)
    risk_from = shift_months(last, AT_RISK_MONTHS)
    if risk_from <= now:
        return Lifecycle("at_risk", risk_from, history.returned_lapse_at)
    if returned is not None and now < shift_months(returned, WON_BACK_MONTHS):
        return Lifecycle("won_back", returned, history.returned_lapse_at)
    since = history.resumed_at or last
    if returned is not None:
        since = max(since, shift_months(returned, WON_BACK_MONTHS))
    return Lifecycle("active", since, history.returned_lapse_at)


def recency_days(history: History, now: datetime) -> int | None:
    return None if history.last_visit_at is None else (now - history.last_visit_at).days


def quintiles(figures: Sequence[float]) -> list[int]:
    """Each figure's quintile among `figures` (1..5, larger figures better): `1 + 5 * (rank - 1) // n`
    with ties sharing the lowest rank."""
    n = len(figures)
    ordered = sorted(figures)
    first_rank: dict[float, int] = {}
    for index, figure in enumerate(ordered, start=1):
        first_rank.setdefault(figure, index)
    return [1 + 5 * (first_rank[figure] - 1) // n for figure in figures]


def segment_of(r: int, f: int, m: int, frequency_24m: int) -> str:
    """The segment of an RFM score (the rules of this module's docstring, in order)."""
    if r >= 4 and f >= 4 and m >= 4:
        return "champion"
    if r >= 3 and f >= 4:
        return "loyal"
    if r >= 4 and frequency_24m == 1:
        return "new"
    if r <= 2 and (f >= 3 or m >= 3):
        return "at_risk"
    if r <= 2:
        return "hibernating"
    return "regular"


def rfm_label(r: int, f: int, m: int) -> str:
    return f"{r}{f}{m}"
