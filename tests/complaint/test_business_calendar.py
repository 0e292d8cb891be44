"""Business hours on the official Chinese calendar (`official: "CN"`), checked by hand against
the State Council notice for 2026: Spring Festival Feb 15-23 off with Sat Feb 14 and Sat Feb 28
worked; Mid-Autumn Sep 25-27 and National Day Oct 1-7 off with Sun Sep 20 and Sat Oct 10 worked.
Shanghai is UTC+8 all year; the working week is Mon-Fri 08:30-17:30 (9 h).
"""

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from services.complaint.sla import business_hours
from services.complaint.sla.business_hours import (
    Calendar,
    add_business_time,
    business_time_between,
    configure_uncovered_years,
)
from tests.complaint.conftest import as_, opened

SH = ZoneInfo("Asia/Shanghai")
WEEK = {d: ["08:30", "17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
PLAIN = Calendar.model_validate({"timezone": "Asia/Shanghai", "weekdays": WEEK, "official": None})
CN = Calendar.model_validate({"timezone": "Asia/Shanghai", "weekdays": WEEK, "official": "CN"})


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def fresh_uncovered_state() -> Iterator[None]:
    business_hours._warned_years.clear()
    yield
    configure_uncovered_years([], [])
    business_hours._warned_years.clear()


def test_mid_autumn_and_national_day_2026_are_closed() -> None:
    # Wed Sep 30 17:00: half an hour that day, Oct 1-7 closed, Thu Oct 8 08:30 + 0.5 h.
    assert add_business_time(at(2026, 9, 30, 17), timedelta(hours=1), CN) == at(2026, 10, 8, 9)
    assert add_business_time(at(2026, 9, 30, 17), timedelta(hours=1), PLAIN) == at(2026, 10, 1, 9)
    # Thu Sep 24 17:00: Fri Sep 25 is Mid-Autumn, so the next working morning is Mon Sep 28.
    assert add_business_time(at(2026, 9, 24, 17), timedelta(hours=1), CN) == at(2026, 9, 28, 9)
    assert business_time_between(at(2026, 10, 1, 0), at(2026, 10, 8, 0), CN) == timedelta(0)


def test_a_make_up_saturday_is_a_working_day() -> None:
    # Fri Oct 9 17:00 + 1 h: Sat Oct 10 is a 调休 working day.
    assert add_business_time(at(2026, 10, 9, 17), timedelta(hours=1), CN) == at(2026, 10, 10, 9)
    assert add_business_time(at(2026, 10, 9, 17), timedelta(hours=1), PLAIN) == at(2026, 10, 12, 9)
    assert business_time_between(at(2026, 10, 10, 0), at(2026, 10, 11, 0), CN) == timedelta(hours=9)
    # Sun Sep 20 too.
    assert business_time_between(at(2026, 9, 20, 0), at(2026, 9, 21, 0), CN) == timedelta(hours=9)


def test_a_make_up_day_has_mondays_hours_even_at_a_dealer_open_on_saturdays() -> None:
    calendar = Calendar.model_validate({"timezone": "Asia/Shanghai", "official": "CN", "weekdays": {
        "mon": ["08:00", "12:00"], "tue": ["08:30", "17:30"], "sat": ["09:00", "10:00"]}})
    assert business_time_between(at(2026, 10, 10, 0), at(2026, 10, 11, 0), calendar) == timedelta(hours=4)
    assert add_business_time(at(2026, 10, 10, 7), timedelta(hours=1), calendar) == at(2026, 10, 10, 9)
    # An ordinary Saturday keeps the dealer's Saturday hours.
    assert business_time_between(at(2026, 10, 17, 0), at(2026, 10, 18, 0), calendar) == timedelta(hours=1)


def test_a_due_time_across_spring_festival_2026() -> None:
    # Fri Feb 13 09:00 + 24 h: Fri 8.5 h, Sat Feb 14 (worked) 9 h, Feb 15-23 closed, Tue Feb 24 6.5 h.
    assert add_business_time(at(2026, 2, 13, 9), timedelta(hours=24), CN) == at(2026, 2, 24, 15)
    assert add_business_time(at(2026, 2, 13, 9), timedelta(hours=24), PLAIN) == at(2026, 2, 17, 15)


def test_the_dealers_own_holidays_close_further_days() -> None:
    calendar = CN.model_copy(update={"holidays": frozenset({date(2026, 10, 8)})})
    assert add_business_time(at(2026, 9, 30, 17), timedelta(hours=1), calendar) == at(2026, 10, 9, 9)


@pytest.mark.usefixtures("fresh_uncovered_state")
def test_a_year_the_package_does_not_cover_is_the_working_week_plus_the_configured_days(caplog: pytest.LogCaptureFixture) -> None:
    year = business_hours.CN_YEARS.stop  # the first year chinesecalendar does not know
    friday = next(date(year, 2, d) for d in range(1, 8) if date(year, 2, d).weekday() == 4)
    saturday, monday = friday + timedelta(days=1), friday + timedelta(days=3)
    start = datetime.combine(friday, datetime.min.time(), SH).replace(hour=17)
    with caplog.at_level(logging.WARNING, logger="csloop.complaint.calendar"):
        assert add_business_time(start, timedelta(hours=1), CN) == start.replace(day=monday.day, hour=9)
        add_business_time(start, timedelta(hours=30), CN)
    warnings = [r for r in caplog.records if "does not cover" in r.getMessage()]
    assert len(warnings) == 1 and str(year) in warnings[0].getMessage()

    # An operator enters the new notice's days until the package is upgraded.
    configure_uncovered_years([monday], [saturday])
    assert add_business_time(start, timedelta(hours=1), CN) == start.replace(day=saturday.day, hour=9)
    assert add_business_time(start.replace(day=saturday.day), timedelta(hours=1), CN) == \
        start.replace(day=monday.day + 1, hour=9)


@pytest.mark.usefixtures("fresh_uncovered_state")
def test_configured_days_never_override_a_covered_year() -> None:
    configure_uncovered_years([date(2026, 10, 8)], [date(2026, 10, 3)])
    assert add_business_time(at(2026, 9, 30, 17), timedelta(hours=1), CN) == at(2026, 10, 8, 9)


def test_only_the_chinese_calendar_is_known() -> None:
    with pytest.raises(ValidationError):
        Calendar.model_validate({"timezone": "Asia/Shanghai", "weekdays": WEEK, "official": "US"})
    assert Calendar.model_validate(CN.model_dump(mode="json")) == CN


async def test_a_policy_on_the_official_calendar_governs_new_cases(client: httpx.AsyncClient) -> None:
    calendar = {"timezone": "Asia/Shanghai", "weekdays": WEEK, "holidays": [], "official": "CN"}
    put = await client.put("/v1/complaint-sla-policies", headers=as_("DS"), json={
        "dealer_code": "D3", "policies": [{"priority": "P4", "first_response_hours": 4, "resolution_hours": 18,
                                           "calendar": calendar}]})
    assert put.status_code == 200, put.text
    assert put.json()["items"][3]["calendar"] == calendar
    case = await opened(client, "D3", priority="P4")
    opened_at = datetime.fromisoformat(case["opened_at"])
    assert datetime.fromisoformat(case["resolution_due"]) == add_business_time(opened_at, timedelta(hours=18), CN)


def test_a_calendar_follows_the_official_schedule_unless_it_opts_out() -> None:
    """Issue 18: business hours everywhere follow the official calendar; `official: null` opts out."""
    assert Calendar.model_validate({"timezone": "Asia/Shanghai", "weekdays": WEEK}) == CN
    # The last working hour before National Day 2026 plus one: after the holiday by default.
    assert add_business_time(at(2026, 9, 30, 17), timedelta(hours=1), CN) > at(2026, 10, 7, 23)
    assert add_business_time(at(2026, 9, 30, 17), timedelta(hours=1), PLAIN) == at(2026, 10, 1, 9)
