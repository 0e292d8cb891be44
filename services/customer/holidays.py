"""The Chinese public holidays that get a greeting, from maintained calendar libraries, never a
hand-written list of dates.

The official schedule (the days off, as State Council notices set them each November) comes from
the `chinesecalendar` package. A holiday occurrence there is its first day off: the package lists
every day off with its holiday's name, and one occurrence's days may be interleaved with
another's (in 2025, Mid-autumn Festival's day falls inside National Day's week), so a day starts
an occurrence when no day of the same name lies within the week before it.

A year the package does not cover yet (its release follows the notice) still gets its greetings:
on the festival days themselves, from the lunar calendar of `lunar_python` (Spring Festival,
Dragon Boat and Mid-autumn are lunar dates, Tomb-sweeping Day the Qingming solar term), and a
warning is logged once per year so the operator upgrades the package. An occurrence is known by
its holiday and the year of its festival day, the same either way, so a greeting made from the
lunar calendar is not made again once the package covers the year.
"""

import logging
from datetime import date, timedelta
from typing import NamedTuple

import chinese_calendar
from lunar_python import Lunar, Solar

logger = logging.getLogger("csloop.customer.holidays")

_DAYS_OFF: dict[date, str] = dict(chinese_calendar.holidays)
COVERED_YEARS = range(min(_DAYS_OFF).year, max(_DAYS_OFF).year + 1)
_SAME_OCCURRENCE = timedelta(days=7)
# The festival day is at most this far after an occurrence's first day off (Spring Festival's
# days off may start on New Year's Eve or a weekend before it).
_FESTIVAL_WITHIN = timedelta(days=10)
_SOLAR = {"New Year's Day": (1, 1), "Labour Day": (5, 1), "National Day": (10, 1)}
_LUNAR = {"Spring Festival": (1, 1), "Dragon Boat Festival": (5, 5), "Mid-autumn Festival": (8, 15)}
_warned_years: set[int] = set()


class Holiday(NamedTuple):
    name: str
    greet_on: date  # the first day off (official schedule) or the festival day (lunar calendar)
    year: int  # the year of the festival day: with the name, what the occurrence is known by


def festival_day(name: str, year: int) -> date | None:
    """The festival's own day in `year`, by the solar or lunar calendar; None for a holiday that
    has no fixed rule (a one-off day off)."""
    if name in _SOLAR:
        return date(year, *_SOLAR[name])
    if name in _LUNAR:
        solar = Lunar.fromYmd(year, *_LUNAR[name]).getSolar()
        return date(solar.getYear(), solar.getMonth(), solar.getDay())
    if name == "Tomb-sweeping Day":
        return next(date(year, 4, day) for day in range(3, 7) if Solar.fromYmd(year, 4, day).getLunar().getJieQi() == "清明")
    return None


def _official() -> list[Holiday]:
    found = []
    for day, name in sorted(_DAYS_OFF.items()):
        if any(_DAYS_OFF.get(day - timedelta(days=back)) == name for back in range(1, _SAME_OCCURRENCE.days + 1)):
            continue
        festivals = [festival_day(name, year) for year in (day.year, day.year + 1)]
        year = next((f.year for f in festivals if f and day - timedelta(days=1) <= f <= day + _FESTIVAL_WITHIN), day.year)
        found.append(Holiday(name, day, year))
    return found


_OFFICIAL = _official()


def holidays_starting(start: date, end: date, names: frozenset[str]) -> list[Holiday]:
    """The occurrences of the holidays among `names` to be greeted on a day in [start, end]."""
    found = [h for h in _OFFICIAL if start <= h.greet_on <= end and h.name in names]
    for year in range(start.year, end.year + 1):
        if year in COVERED_YEARS:
            continue
        for name in sorted(names):
            day = festival_day(name, year)
            if day and start <= day <= end:
                _warn_once(year)
                found.append(Holiday(name, day, year))
    return sorted(found, key=lambda h: h.greet_on)


def _warn_once(year: int) -> None:
    if year not in _warned_years:
        _warned_years.add(year)
        logger.warning("chinesecalendar %s does not cover %s (only %s-%s): holiday greetings go out on the festival "
                       "days of the lunar calendar, not the official first days off, until the package is upgraded",
                       chinese_calendar.__version__, year, COVERED_YEARS.start, COVERED_YEARS.stop - 1)


def slug(name: str) -> str:
    """The holiday's name as a key part: "Mid-autumn Festival" -> "mid_autumn_festival"."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
