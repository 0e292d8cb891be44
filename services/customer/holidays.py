"""The Chinese public holidays that get a greeting, from the official schedule as the
`chinesecalendar` package publishes it (State Council notices), never a hand-written list.

A holiday here is one occurrence of a named holiday: its first day off. The package lists
every day off with its holiday's name, and one occurrence's days may be interleaved with
another's (in 2025, Mid-autumn Festival's day falls inside National Day's week), so a day
starts an occurrence when no day of the same name lies within the week before it.

The package covers the years up to its release; a year it does not cover yet (the schedule
is published each November) has no holidays here, and a warning is logged once per year so
the operator upgrades the package.
"""

import logging
from datetime import date, timedelta

import chinese_calendar

logger = logging.getLogger("csloop.customer.holidays")

_DAYS_OFF: dict[date, str] = dict(chinese_calendar.holidays)
COVERED_YEARS = range(min(_DAYS_OFF).year, max(_DAYS_OFF).year + 1)
_SAME_OCCURRENCE = timedelta(days=7)
_warned_years: set[int] = set()


def _first_days() -> list[tuple[date, str]]:
    firsts = []
    for day, name in sorted(_DAYS_OFF.items()):
        if not any(_DAYS_OFF.get(day - timedelta(days=back)) == name for back in range(1, _SAME_OCCURRENCE.days + 1)):
            firsts.append((day, name))
    return firsts


_FIRST_DAYS = _first_days()


def holidays_starting(start: date, end: date, names: frozenset[str]) -> list[tuple[date, str]]:
    """(first day, name) of the holidays among `names` whose first day is in [start, end]."""
    for year in range(start.year, end.year + 1):
        if year not in COVERED_YEARS and year not in _warned_years:
            _warned_years.add(year)
            logger.warning("chinesecalendar %s does not cover %s (only %s-%s): no holiday greetings for that year "
                           "until the package is upgraded", chinese_calendar.__version__, year,
                           COVERED_YEARS.start, COVERED_YEARS.stop - 1)
    return [(day, name) for day, name in _FIRST_DAYS if start <= day <= end and name in names]


def slug(name: str) -> str:
    """The holiday's name as a key part: "Mid-autumn Festival" -> "mid_autumn_festival"."""
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")
