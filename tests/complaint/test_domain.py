"""Pure rules: the state machine, business time (hand-computed), the paused clock, breaches, quality windows."""

from datetime import UTC, datetime, timedelta

import pytest

from services.complaint import domain
from services.complaint.sla.business_hours import Calendar, add_business_time, business_time_between
from shared.org_path import OrgPath

# Shanghai is UTC+8 all year; 2026-09-25 is a Friday, 2026-10-01/02 (Thu/Fri) are holidays. The
# working week and its holiday list alone (`official: null`): the official schedule has tests of its own.
CAL = Calendar.model_validate({
    "timezone": "Asia/Shanghai",
    "weekdays": {day: ["08:30", "17:30"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-10-01", "2026-10-02"], "official": None,
})


def sh(text: str) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    return (datetime.fromisoformat(text) - timedelta(hours=8)).replace(tzinfo=UTC)


class TestStateMachine:
    LEGAL = {("new", "acknowledged"), ("acknowledged", "in_progress"), ("in_progress", "awaiting_customer"),
             ("awaiting_customer", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed"),
             ("resolved", "reopened"), ("closed", "reopened")}
    STATES = ("new", "acknowledged", "in_progress", "awaiting_customer", "resolved", "closed")
    TARGETS = ("acknowledged", "in_progress", "awaiting_customer", "resolved", "closed", "reopened")

    def test_exactly_the_documented_moves_are_allowed(self) -> None:
        for state in self.STATES:
            for target in self.TARGETS:
                assert (domain.move(state, target) is not None) == ((state, target) in self.LEGAL), (state, target)

    def test_reopening_lands_in_progress_and_counts(self) -> None:
        assert domain.move("closed", "reopened") == domain.Move("in_progress", True)
        assert domain.move("in_progress", "resolved") == domain.Move("resolved", False)

    def test_closing_needs_root_cause_and_customer_answer(self) -> None:
        assert domain.missing_for_close(None) == ["root_cause", "customer_agrees"]
        assert domain.missing_for_close({"root_cause": {"category": "people", "text": "x"},
                                         "customer_agrees": None}) == ["customer_agrees"]
        assert domain.missing_for_close({"root_cause": {"category": "parts", "text": "x"},
                                         "customer_agrees": False}) == []


class TestBusinessTime:
    def test_friday_afternoon_plus_two_hours_lands_monday_morning(self) -> None:
        assert add_business_time(sh("2026-09-25T16:30"), timedelta(hours=2), CAL) == sh("2026-09-28T09:30")

    def test_holidays_and_weekend_are_skipped(self) -> None:
        # Wed 17:00-17:30 (0.5h), Thu+Fri holidays, weekend, Mon 08:30 + 7.5h = 16:00.
        assert add_business_time(sh("2026-09-30T17:00"), timedelta(hours=8), CAL) == sh("2026-10-05T16:00")

    def test_start_outside_hours_waits_for_opening(self) -> None:
        assert add_business_time(sh("2026-09-28T07:00"), timedelta(hours=1), CAL) == sh("2026-09-28T09:30")
        assert add_business_time(sh("2026-09-26T12:00"), timedelta(hours=1), CAL) == sh("2026-09-28T09:30")
        assert add_business_time(sh("2026-09-28T17:30"), timedelta(minutes=30), CAL) == sh("2026-09-29T09:00")

    def test_elapsed_business_time_counts_only_working_hours(self) -> None:
        assert business_time_between(sh("2026-09-25T16:30"), sh("2026-09-28T09:30"), CAL) == timedelta(hours=2)
        assert business_time_between(sh("2026-09-30T08:30"), sh("2026-10-05T08:30"), CAL) == timedelta(hours=9)
        assert business_time_between(sh("2026-09-28T10:00"), sh("2026-09-28T09:00"), CAL) == timedelta(0)

    def test_without_calendar_the_clock_runs_around_the_clock(self) -> None:
        start = sh("2026-09-26T12:00")
        assert add_business_time(start, timedelta(hours=30), None) == start + timedelta(hours=30)
        assert business_time_between(start, start + timedelta(hours=5), None) == timedelta(hours=5)

    def test_calendar_rejects_nonsense(self) -> None:
        with pytest.raises(ValueError):
            Calendar.model_validate({"timezone": "Mars/Olympus", "weekdays": {"mon": ["08:00", "17:00"]}})
        with pytest.raises(ValueError):
            Calendar.model_validate({"timezone": "UTC", "weekdays": {"mon": ["17:00", "08:00"]}})
        with pytest.raises(ValueError):
            Calendar.model_validate({"timezone": "UTC", "weekdays": {}})


class TestClock:
    def test_pause_moves_due_times_by_the_working_time_paused(self) -> None:
        clock = domain.Clock(sh("2026-09-28T08:30"), timedelta(hours=2), timedelta(hours=24), CAL)
        assert clock.resolution_due() == sh("2026-09-30T14:30")  # Mon 9h + Tue 9h + Wed 6h
        # Paused Mon 10:00 -> Tue 10:00: 7.5h + 1.5h = one working day.
        resumed = clock.resumed(sh("2026-09-28T10:00"), sh("2026-09-29T10:00"))
        assert resumed.paused == timedelta(hours=9)
        # Thursday and Friday are holidays, so the extra working day is Monday.
        assert resumed.resolution_due() == sh("2026-10-05T14:30")

    def test_wall_clock_pause_adds_the_elapsed_time(self) -> None:
        opened = datetime(2026, 3, 1, tzinfo=UTC)
        clock = domain.Clock(opened, timedelta(hours=8), timedelta(hours=168), None)
        resumed = clock.resumed(opened + timedelta(hours=1), opened + timedelta(hours=4))
        assert resumed.resolution_due() == opened + timedelta(hours=171)

    def test_clock_stops_while_waiting_and_once_resolved(self) -> None:
        assert domain.clock_stops("in_progress", "awaiting_customer")
        assert domain.clock_resumes("awaiting_customer", "in_progress")
        assert domain.clock_stops("in_progress", "resolved")
        assert not domain.clock_stops("resolved", "closed") and not domain.clock_resumes("resolved", "closed")
        assert domain.clock_resumes("closed", "in_progress")


class TestBreaches:
    NOW = datetime(2026, 3, 2, tzinfo=UTC)

    def check(self, **fields: object) -> list[str]:
        base = {"status": "new", "stopped": False, "now": self.NOW, "first_response_due": self.NOW + timedelta(hours=1),
                "first_responded_at": None, "resolution_due": self.NOW + timedelta(hours=5), "resolved_at": None}
        return domain.breaches(**{**base, **fields})  # type: ignore[arg-type]

    def test_unacknowledged_past_due_misses_first_response(self) -> None:
        assert self.check() == []
        assert self.check(first_response_due=self.NOW - timedelta(seconds=1)) == ["first_response"]

    def test_late_acknowledgement_is_a_breach_and_a_paused_case_is_not_overdue(self) -> None:
        late = self.check(status="in_progress", first_responded_at=self.NOW, first_response_due=self.NOW - timedelta(hours=1))
        assert late == ["first_response"]
        overdue = {"status": "awaiting_customer", "first_responded_at": self.NOW - timedelta(hours=9),
                   "resolution_due": self.NOW - timedelta(hours=1)}
        assert self.check(stopped=True, **overdue) == []
        assert self.check(stopped=False, **{**overdue, "status": "in_progress"}) == ["resolution"]


class TestQualitySignal:
    NOW = datetime(2026, 3, 31, tzinfo=UTC)
    RULE = domain.SignalRule()

    def test_three_cases_from_two_dealers_signal_from_the_earliest_case(self) -> None:
        cases = [(self.NOW - timedelta(days=20), "D1"), (self.NOW - timedelta(days=3), "D1"), (self.NOW, "D3")]
        assert domain.signal_due(self.RULE, cases, self.NOW, None) == self.NOW - timedelta(days=20)
        assert domain.signal_due(self.RULE, cases[:2], self.NOW, None) is None
        assert domain.signal_due(self.RULE, [(t, "D1") for t, _ in cases], self.NOW, None) is None

    def test_a_group_signals_again_only_a_window_after_its_last_signal(self) -> None:
        cases = [(self.NOW, "D1"), (self.NOW, "D2"), (self.NOW, "D3")]
        assert domain.signal_due(self.RULE, cases, self.NOW, self.NOW - timedelta(days=29)) is None
        assert domain.signal_due(self.RULE, cases, self.NOW, self.NOW - timedelta(days=30)) == self.NOW

    def test_signal_belongs_to_the_common_ancestor(self) -> None:
        assert OrgPath.common_ancestor(["/OEM/DN/D1/", "/OEM/DS/D3/"]) == "/OEM/"
        assert OrgPath.common_ancestor(["/OEM/DN/D1/", "/OEM/DN/D2/"]) == "/OEM/DN/"
        assert OrgPath.common_ancestor(["/OEM/DN/D1/"]) == "/OEM/DN/D1/"
