"""Business time on a dealer's calendar: working hours per weekday, holidays, a time zone.

Pure functions, no I/O. A calendar of `None` means the clock runs around the clock. The
day's working interval is built in the dealer's local time and converted to UTC before any
arithmetic, so a daylight-saving change never stretches or shrinks an hour.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar with working days always reaches the end within a few years; this bounds a
# loop over a calendar whose only working days are all holidays.
MAX_DAYS = 3 * 366


def _hhmm(value: str) -> str:
    time.fromisoformat(value)
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]


class Calendar(BaseModel):
    """`{"timezone": "Asia/Shanghai", "weekdays": {"mon": ["08:30", "17:30"]}, "holidays": ["2026-10-01"]}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str
    weekdays: dict[str, tuple[HHMM, HHMM]]
    holidays: frozenset[date] = frozenset()

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


def _working_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The UTC working intervals from the local day of `start` on, in order."""
    zone = ZoneInfo(calendar.timezone)
    day = start.astimezone(zone).date()
    for offset in range(MAX_DAYS):
        current = day + timedelta(days=offset)
        hours = calendar.weekdays.get(WEEKDAYS[current.weekday()])
        if hours is None or current in calendar.holidays:
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
