"""Business time on a dealer's calendar: working hours per weekday, holidays, a time zone.

Pure functions, no I/O. A calendar of `None` means the clock runs around the clock. The
day's working interval is built in the dealer's local time and converted to UTC before any
arithmetic, so a daylight-saving change never stretches or shrinks an hour.

`official: "CN"` (the default; null opts out) follows the State Council's holiday schedule as
the `chinesecalendar` package publishes it: a statutory holiday is closed whatever the weekday, and a make-up
working day (调休, a Saturday or Sunday declared a working day) is open with the hours of the
dealer's first working weekday Monday to Friday (Monday's, normally: the notices name no
weekday a make-up day stands for). The dealer's own `holidays` close further days on top.
For a year the package does not cover yet (the notice for next year comes out in November,
the package some weeks later), the calendar is the dealer's working week plus the extra
holidays and make-up days an operator sets (`configure_uncovered_years`, from the complaint
settings), and a warning is logged once per year: the clock keeps running rather than
refusing cases, and the warning tells the operator to upgrade the package. The metric
`csloop_calendar_uncovered_days_total{year}` counts the days so judged (the complaint
service's /metrics), for an alert that outlives the log.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
from prometheus_client import Counter
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

logger = logging.getLogger("csloop.complaint.calendar")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar with working days always reaches the end within a few years; this bounds a
# loop over a calendar whose only working days are all holidays.
MAX_DAYS = 3 * 366

# The official schedule, read once: the per-day check is two set lookups.
_CN_CLOSED = frozenset(chinese_calendar.holidays)
_CN_MAKE_UP = frozenset(chinese_calendar.workdays)
CN_YEARS = range(min(_CN_CLOSED).year, max(_CN_CLOSED).year + 1)
# Operator-set days for the years outside CN_YEARS; the years already warned about.
_uncovered_closed: frozenset[date] = frozenset()
_uncovered_make_up: frozenset[date] = frozenset()
_warned_years: set[int] = set()
# Registered by the complaint app in its /metrics registry (each app has its own registry).
UNCOVERED_DAYS = Counter("csloop_calendar_uncovered_days_total", "Business days judged without the official calendar "
                         "(a year chinesecalendar does not cover): working week plus configured extra days",
                         ["year"], registry=None)


def configure_uncovered_years(closed: Iterable[date], make_up: Iterable[date]) -> None:
    """Extra holidays and make-up working days for the years the package does not cover.

    Days inside the covered years are ignored: once the package knows a year, its
    schedule is the official one and a stale setting cannot contradict it.
    """
    global _uncovered_closed, _uncovered_make_up
    _uncovered_closed = frozenset(day for day in closed if day.year not in CN_YEARS)
    _uncovered_make_up = frozenset(day for day in make_up if day.year not in CN_YEARS)


def _hhmm(value: str) -> str:
    time.fromisoformat(value)
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]


class Calendar(BaseModel):
    """`{"timezone": "Asia/Shanghai", "weekdays": {"mon": ["08:30", "17:30"]}, "holidays": ["2026-10-01"], "official": "CN"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str
    weekdays: dict[str, tuple[HHMM, HHMM]]
    holidays: frozenset[date] = frozenset()
    # "CN" (the default, issue 18: business hours everywhere follow the official calendar): the
    # State Council's schedule on top of `weekdays` and `holidays`; null: those two alone.
    official: Literal["CN"] | None = "CN"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @field_validator("weekdays")
    @classmethod
    def _working_week(cls, value: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        if not value:
            raise ValueError("name at least one working day")
        for day, (start, end) in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"'{day}' is not one of {', '.join(WEEKDAYS)}")
            if time.fromisoformat(start) >= time.fromisoformat(end):
                raise ValueError(f"{day}: the working day must end after it starts")
        return value


def _official_cn(day: date) -> bool | None:
    """True on a make-up working day, False on a statutory holiday, None on an ordinary day."""
    if day.year in CN_YEARS:
        closed, make_up = _CN_CLOSED, _CN_MAKE_UP
    else:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning("the official Chinese calendar does not cover %s (chinesecalendar %s covers %s-%s): "
                           "using the working week and the configured extra days; upgrade chinesecalendar",
                           day.year, chinese_calendar.__version__, CN_YEARS.start, CN_YEARS.stop - 1)
        UNCOVERED_DAYS.labels(str(day.year)).inc()
        closed, make_up = _uncovered_closed, _uncovered_make_up
    if day in make_up:
        return True
    if day in closed:
        return False
    return None


def _hours_on(calendar: Calendar, day: date) -> tuple[str, str] | None:
    """The working hours of `day`, or None when the dealer is closed."""
    if day in calendar.holidays:
        return None
    if calendar.official == "CN":
        official = _official_cn(day)
        if official is False:
            return None
        if official is True:
            weekday_hours = [calendar.weekdays[d] for d in WEEKDAYS[:5] if d in calendar.weekdays]
            if weekday_hours:
                return weekday_hours[0]
    return calendar.weekdays.get(WEEKDAYS[day.weekday()])


def _working_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC working intervals from the local day of `start` on, in order."""
    zone = ZoneInfo(calendar.timezone)
    day = start.astimezone(zone).date()
    for offset in range(MAX_DAYS):
        current = day + timedelta(days=offset)
        hours = _hours_on(calendar, current)
        if hours is None:
            continue
        opens = datetime.combine(current, time.fromisoformat(hours[0]), zone).astimezone(UTC)
        closes = datetime.combine(current, time.fromisoformat(hours[1]), zone).astimezone(UTC)
        yield opens, closes
    raise ValueError("the calendar has no working time within three years")


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """The moment `duration` of working time after `start` has passed."""
    if calendar is None:
        return start + duration
    remaining = duration
    for opens, closes in _working_intervals(calendar, start):
        begin = max(opens, start)
        if begin >= closes:
            continue
        if remaining <= closes - begin:
            return begin + remaining
        remaining -= closes - begin
    raise AssertionError("unreachable: _working_intervals raises when it runs out")


def business_time_between(start: datetime, end: datetime, calendar: Calendar | None) -> timedelta:
    """Working time in [start, end); zero when end is not after start."""
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total = timedelta(0)
    for opens, closes in _working_intervals(calendar, start):
        if opens >= end:
            break
        total += max(timedelta(0), min(closes, end) - max(opens, start))
    return total


def working_days_end(start: datetime, days: int, calendar: Calendar | None) -> datetime:
    """The close of the `days`-th working day after the local day of `start` (a bulletin read
    "within 3 business days"); around the clock, `days` whole days after `start`."""
    if calendar is None:
        return start + timedelta(days=days)
    first_day = start.astimezone(ZoneInfo(calendar.timezone)).date()
    counted = 0
    for opens, closes in _working_intervals(calendar, start):
        if opens.astimezone(ZoneInfo(calendar.timezone)).date() == first_day:
            continue
        counted += 1
        if counted == days:
            return closes
    raise AssertionError("unreachable: _working_intervals raises when it runs out")
