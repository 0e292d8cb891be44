"""Complaint rules: the state machine, the SLA clock, closing and quality-signal thresholds.

No HTTP and no SQL: the use cases in `complaints` load rows, ask these functions, and store
what they answer.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.complaint.sla.business_hours import Calendar, add_business_time, business_time_between
from shared.org_path import OrgPath

Status = Literal["new", "acknowledged", "in_progress", "awaiting_customer", "resolved", "closed"]
Target = Literal["acknowledged", "in_progress", "awaiting_customer", "resolved", "closed", "reopened"]
Priority = Literal["P1", "P2", "P3", "P4"]
Channel = Literal["hotline", "walk_in", "survey_alert", "follow_up", "app", "social_media", "regulator"]
Category = Literal["repair_quality", "price_billing", "appointment", "staff_attitude", "parts_availability",
                   "product_quality", "sales_process", "other"]
BreachKind = Literal["first_response", "resolution"]

# `reopened` is a move, not a state: it lands in in_progress and counts a reopening.
MOVES: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged",),
    "acknowledged": ("in_progress",),
    "in_progress": ("awaiting_customer", "resolved"),
    "awaiting_customer": ("in_progress",),
    "resolved": ("closed", "reopened"),
    "closed": ("reopened",),
}
# The SLA clock stands still while the case waits on the customer, and once it is resolved;
# a reopening starts it again where it stopped.
CLOCK_STOPPED = frozenset({"awaiting_customer", "resolved", "closed"})
OPEN_STATES = frozenset({"new", "acknowledged", "in_progress", "awaiting_customer"})


@dataclass(frozen=True)
class Move:
    to_status: str
    reopening: bool


def allowed_moves(status: str) -> tuple[str, ...]:
    return MOVES.get(status, ())


def move(status: str, target: str) -> Move | None:
    """The state a move lands in, or None when it is not allowed from `status`."""
    if target not in allowed_moves(status):
        return None
    return Move("in_progress" if target == "reopened" else target, target == "reopened")


# --- SLA clock -------------------------------------------------------------------------------

DEFAULT_HOURS: dict[str, tuple[float, float]] = {
    "P1": (2, 24), "P2": (4, 72), "P3": (8, 7 * 24), "P4": (24, 14 * 24),
}


@dataclass(frozen=True)
class Clock:
    """What a case keeps of its SLA policy (a snapshot: a later policy change does not move it)."""

    opened_at: datetime
    first_response: timedelta
    resolution: timedelta
    calendar: Calendar | None
    paused: timedelta = timedelta(0)  # working time spent with the clock stopped

    def first_response_due(self) -> datetime:
        return add_business_time(self.opened_at, self.first_response + self.paused, self.calendar)

    def resolution_due(self) -> datetime:
        return add_business_time(self.opened_at, self.resolution + self.paused, self.calendar)

    def resumed(self, stopped_at: datetime, now: datetime) -> "Clock":
        """The clock after standing still from `stopped_at` to `now`: due times move by that working time."""
        extra = business_time_between(stopped_at, now, self.calendar)
        return Clock(self.opened_at, self.first_response, self.resolution, self.calendar, self.paused + extra)


def clock_stops(from_status: str, to_status: str) -> bool:
    return from_status not in CLOCK_STOPPED and to_status in CLOCK_STOPPED


def clock_resumes(from_status: str, to_status: str) -> bool:
    return from_status in CLOCK_STOPPED and to_status not in CLOCK_STOPPED


def breaches(*, status: str, stopped: bool, now: datetime, first_response_due: datetime,
             first_responded_at: datetime | None, resolution_due: datetime,
             resolved_at: datetime | None) -> list[BreachKind]:
    """The SLA targets a case has missed by `now` (each is reported once by the caller)."""
    missed: list[BreachKind] = []
    responded = first_responded_at or (now if status == "new" else None)
    if responded is not None and responded > first_response_due:
        missed.append("first_response")
    if status in OPEN_STATES and not stopped and now > resolution_due:
        missed.append("resolution")
    elif status not in OPEN_STATES and resolved_at is not None and resolved_at > resolution_due:
        missed.append("resolution")
    return missed


# --- closing ---------------------------------------------------------------------------------

def missing_for_close(resolution: dict[str, object] | None) -> list[str]:
    """DOMAIN.md: closing a case requires a root cause and whether the customer agrees."""
    resolution = resolution or {}
    missing = []
    if not resolution.get("root_cause"):
        missing.append("root_cause")
    if resolution.get("customer_agrees") is None:
        missing.append("customer_agrees")
    return missing


# --- escalation ------------------------------------------------------------------------------

def may_handle(caller_path: str, handling_org_path: str) -> bool:
    """Who may move, resolve or escalate a case: the organisation handling it and those above it.

    A new case is handled by its dealer (also when a distributor or the manufacturer opened
    it); once escalated, the dealer below the handler still sees the case and may comment,
    but the decisions are the handler's.
    """
    return OrgPath(caller_path).contains(handling_org_path)


def escalation_reason_for_new_case(priority: str) -> str | None:
    """A P1 case goes to the next level at once (DOMAIN.md: severe complaints escalate)."""
    return "P1 case: escalated on creation" if priority == "P1" else None


# --- quality signals (EDER) ------------------------------------------------------------------

@dataclass(frozen=True)
class SignalRule:
    min_cases: int = 3
    min_dealers: int = 2
    window: timedelta = timedelta(days=30)


def signal_due(rule: SignalRule, cases: list[tuple[datetime, str]], now: datetime,
               last_signal_at: datetime | None) -> datetime | None:
    """The window start of a new signal for one (model, symptom) group, or None.

    `cases` are (opened_at, dealer_code) of the group's cases opened within the window
    before `now`. A group signals when it reaches the thresholds, and again no sooner than
    one window after its previous signal; the window starts at its earliest case, so two
    replicas counting the same cases name the same window (the unique key makes it once).
    """
    if last_signal_at is not None and now < last_signal_at + rule.window:
        return None
    if len(cases) < rule.min_cases or len({dealer for _, dealer in cases}) < rule.min_dealers:
        return None
    return min(opened for opened, _ in cases)


# --- cases a follow-up call opens (issue 14) ---------------------------------------------------

# The issue codes a dissatisfied follow-up call records, and the category of the case it opens.
ISSUE_CATEGORIES: dict[str, str] = {
    "not_fixed": "repair_quality", "price": "price_billing", "attitude": "staff_attitude",
    "parts": "parts_availability", "product": "product_quality",
}
FOLLOW_UP_PRIORITY = "P3"
# The issue code of a call that found the first fix failed: quality evidence (EDER).
NOT_FIXED = "not_fixed"


def category_for_issues(issue_codes: list[str]) -> str:
    """The category of the first code that has one; a call with several issues is filed under the
    first the agent named (the others stay in the description). No known code: `other`."""
    mapped = (ISSUE_CATEGORIES.get(code.strip().lower()) for code in issue_codes)
    return next((category for category in mapped if category), "other")


def year_number(year: int, n: int) -> str:
    return f"CMP-{year}-{n:06d}"


# --- technical requests (issue 18) -------------------------------------------------------------

TechRequestStatus = Literal["open", "answered", "closed"]


def tech_request_number(year: int, n: int) -> str:
    return f"TRQ-{year}-{n:06d}"


def tech_request_answer_due(since: datetime, answer: timedelta, calendar: Calendar | None) -> datetime:
    """When the team now handling a request owes its answer: the answer SLA in business time on
    the dealer's calendar, from the opening or from the escalation that handed it over."""
    return add_business_time(since, answer, calendar)


def tech_request_missed(*, status: str, now: datetime, answer_due: datetime) -> bool:
    """An open request whose handling team let its answer due time pass (an answered one is
    waiting on the dealer, a closed one on nobody)."""
    return status == "open" and now > answer_due


def may_escalate_tech_request(status: str) -> bool:
    """Open (no answer yet) or answered (the dealer finds the answer does not solve it): both go
    up; a closed request is done."""
    return status != "closed"
