"""A year of history for the demo network, so the dashboard has trends, rankings and drivers.

The manufacturer publishes CSI and SSI from the templates and imports a third-party study's
results for the last 12 months (`POST /v1/survey-responses/import`, one batch per dealer and
survey). Answers come from a small model, so dealers differ as a real network does:

- each dealer has a level and a factor it is weak or strong on, and improves slowly;
- a customer's mood moves every factor, some more than others (the factor's "loading"), so
  factors correlate differently with the index and the drivers chart has something to say;
- NPS follows the factor scores, with a few detractors; this month a couple of customers per
  dealer report a repair not fixed (a critical answer: a survey alert, hence a complaint case);
- each result names who served the customer (`staff`): a CSI row the repair order's advisor and
  technician, an SSI row the sales consultant. Each month's results go to the dealer's people in
  fixed shares (SHARES), so every month the first three advisors of a dealer have 10 or more CSI
  results (13, 12, 12: ranked on the people scorecards) and the fourth has 3 (listed, not ranked);
  technicians 16, 14, 10; sales consultants 11 and 4 SSI results. Some people lift or lower the
  factor they own (EFFECTS), so the scorecards differ.

Then a handful of complaints per dealer in various categories and states, one P1 that
breaches its SLA, and the manufacturer's CSI, SSI and NPS targets for this year.
Every call is idempotent enough for a re-run: imports are keyed by external id.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from typing import Any

from csloop_sdk import CSLoop, Conflict
from csloop_sdk.models import Complaint, Survey

Json = dict[str, Any]

CHINA = timezone(timedelta(hours=8))
MONTHS = 12
PER_MONTH = {"csi": 40, "ssi": 15}
# How strongly a customer's overall mood moves each factor (1-10 points per standard deviation).
LOADINGS = {
    "csi": {"service_quality": 1.4, "service_advisor": 1.1, "vehicle_pickup": 0.8, "service_initiation": 0.6,
            "service_facility": 0.3},
    "ssi": {"deal": 1.3, "salesperson": 1.1, "delivery": 0.8, "sales_initiation": 0.6, "facility": 0.3},
}
# The study alerts on critical answers only (and a very low index): a third party's NPS
# detractors are followed up in its own report, not as one complaint case each.
ALERT_RULES = {"index_below": 30.0, "nps_detractor": False, "critical_answers": True}
# This year's targets, for the year and each of its months (the dashboard opens on a month).
TARGETS = {"csi": 78.0, "ssi": 78.0, "nps": 40.0}
# A result's `staff` field -> the staff role that fills it, per survey kind.
SERVED_BY = {"csi": {"advisor": "service_advisor", "technician": "technician"},
             "ssi": {"sales_consultant": "sales_consultant"}}
# Each role's share of a month's results, by the position of the code (SA01, SA02, ...).
SHARES = {"service_advisor": (0.33, 0.30, 0.29, 0.08), "technician": (0.40, 0.35, 0.25),
          "sales_consultant": (0.70, 0.30)}
# The factor a person's work shows in, and how much each (by code position) adds to its mean answer.
EFFECTS = {"advisor": ("service_advisor", (0.4, 0.0, -0.5, -0.2)), "technician": ("service_quality", (0.3, -0.1, -0.4)),
           "sales_consultant": ("salesperson", (0.3, -0.4))}


@dataclass(frozen=True)
class Profile:
    """A dealer's mean answer (1-10), its per-factor deviations, and its gain per month."""

    level: float
    factors: dict[str, float] = field(default_factory=dict)
    trend: float = 0.02


PROFILES = {
    "DLR-0041": Profile(8.3, {"service_advisor": 0.5, "service_facility": -0.6, "salesperson": 0.4}, 0.01),
    "DLR-0042": Profile(7.7, {"service_quality": -0.9, "deal": -0.5, "delivery": 0.3}, 0.02),
    "DLR-0043": Profile(6.9, {"vehicle_pickup": -0.4, "facility": 0.4}, 0.06),
    "DLR-0051": Profile(8.0, {"vehicle_pickup": -0.8, "service_facility": 0.6, "sales_initiation": -0.5}, 0.02),
    "DLR-0052": Profile(7.8, {"service_initiation": -1.0, "salesperson": -0.6}, 0.03),
    "DLR-0053": Profile(7.1, {"service_advisor": -0.8, "service_quality": -0.3, "deal": 0.4}, 0.04),
}

# (category, priority, channel, what happens to it, description)
COMPLAINTS = [
    ("staff_attitude", "P3", "walk_in", "acknowledged", "The advisor was dismissive when I asked about the bill."),
    ("price_billing", "P3", "hotline", "resolved", "Charged for a cabin filter that was not replaced."),
    ("appointment", "P4", "app", "new", "Booked 9:00 online, the dealer had no record of it."),
    ("parts_availability", "P2", "hotline", "closed", "Waiting three weeks for a rear bumper part."),
    ("repair_quality", "P2", "social_media", "in_progress", "Rattle from the dashboard came back after the repair."),
]
# How the cases that get resolved were resolved: (summary, root cause category, root cause, actions, compensation).
RESOLUTIONS = {
    "price_billing": ("Refunded the filter and apologised.", "process", "Invoice not checked against the job card.",
                      ["apology", "discount"], 12_000),
    "parts_availability": ("Part arrived; fitted with a free wash and a loan car for the wait.", "parts",
                           "Regional warehouse out of stock.", ["apology", "goodwill"], 0),
}


def seed_history(api: CSLoop, staff: dict[str, dict[str, list[str]]], manufacturer: str, *, seed_value: int = 7,
                 now: datetime | None = None) -> dict[str, int]:
    """`staff`: each dealer's staff codes by role (the demo's dealers, in order)."""
    rng = random.Random(seed_value)
    # Its own generator, so the answers draw what they drew before results named staff.
    staff_rng = random.Random(f"{seed_value}-staff")
    now = now or datetime.now(UTC)
    dealers = list(staff)
    counts = {"survey_responses": 0, "complaints": 0, "targets": 0}
    for kind in ("csi", "ssi"):
        survey = _published_survey(api, kind)
        for dealer in dealers:
            rows = [row for months_ago in range(MONTHS - 1, -1, -1)
                    for row in _month_rows(rng, survey, dealer, months_ago, now,
                                           _served(staff_rng, staff[dealer], kind, PER_MONTH[kind]))]
            result = api.responses.import_results(survey.id, rows)
            if result.failed:
                raise RuntimeError(f"demo {kind} import for {dealer} refused rows: {result.errors[:3]}")
            counts["survey_responses"] += result.created
    for index, dealer in enumerate(dealers):
        counts["complaints"] += _complaints(api, rng, dealer, breach=index == len(dealers) - 1)
    periods = [str(now.year)] + [f"{now.year}-{month:02d}" for month in range(1, 13)]
    for kpi, target in TARGETS.items():
        for period in periods:
            api.kpi.set_target(org_code=manufacturer, kpi=kpi, period=period, target=target)
            counts["targets"] += 1
    return counts


def _published_survey(api: CSLoop, kind: str) -> Survey:
    """The study's own survey, from the template: the network's standard `csi`/`ssi` (which event-made
    invitations use, and which the seeded deliveries may already have created) keeps its alert rules."""
    code, name = f"{kind}_study", kind.upper()
    title = {"zh-CN": f"{name} 第三方调研", "en": f"{name} study (third party)"}
    try:
        survey = api.surveys.create(template=kind, code=code, title=title, alert_rules=ALERT_RULES)
    except Conflict:  # a re-run: the manufacturer already has it
        survey = next(s for s in api.surveys.list(kind=kind) if s.code == code)
    api.surveys.publish(survey)
    return survey


# --- survey answers -----------------------------------------------------------------------------

def _month_start(now: datetime, months_ago: int) -> datetime:
    local = now.astimezone(CHINA)
    year, month = divmod(local.year * 12 + local.month - 1 - months_ago, 12)
    return datetime(year, month + 1, 1, tzinfo=CHINA)


def _in_shares(count: int, codes: list[str], shares: tuple[float, ...]) -> list[str]:
    """`count` codes in these shares, rounded by largest remainder (40 results: 13, 12, 12, 3)."""
    weights = shares[:len(codes)]
    exact = [count * weight / sum(weights) for weight in weights]
    whole = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: whole[i] - exact[i])
    for i in by_remainder[:count - sum(whole)]:
        whole[i] += 1
    return [code for code, times in zip(codes, whole) for _ in range(times)]


def _served(rng: random.Random, staff: dict[str, list[str]], kind: str, count: int) -> list[Json]:
    """Who served each of a month's `count` customers: every role's codes in their shares, shuffled."""
    columns = {}
    for field_name, role in SERVED_BY[kind].items():
        codes = _in_shares(count, staff[role], SHARES[role])
        rng.shuffle(codes)
        columns[field_name] = codes
    return [{name: codes[n] for name, codes in columns.items()} for n in range(count)]


def _lifts(served: Json) -> dict[str, float]:
    """What the people who served add to the mean answer of the factors they own (a demo code
    ends in its position: SA03 is the third advisor)."""
    lifts: dict[str, float] = {}
    for field_name, code in served.items():
        factor, by_position = EFFECTS[field_name]
        lifts[factor] = lifts.get(factor, 0.0) + by_position[(int(code[-2:]) - 1) % len(by_position)]
    return lifts


def _month_rows(rng: random.Random, survey: Survey, dealer: str, months_ago: int, now: datetime,
                served: list[Json]) -> list[Json]:
    kind = survey.kind
    start = _month_start(now, months_ago)
    end = min(_month_start(now, months_ago - 1), now - timedelta(minutes=5))
    profile = PROFILES.get(dealer, Profile(7.5))
    rows = []
    for n in range(PER_MONTH[kind]):
        # This month, the first two CSI customers of each dealer had a repair that was not fixed.
        critical = kind == "csi" and months_ago == 0 and n < 2
        at = start + (end - start) * rng.random()
        answers = _answers(rng, survey, profile, (MONTHS - 1 - months_ago) * profile.trend, _lifts(served[n]),
                           critical=critical)
        rows.append({"external_id": f"{kind}-{dealer}-{start:%Y%m}-{n:03d}", "dealer_code": dealer,
                     "submitted_at": at.isoformat(timespec="seconds"), "staff": served[n], "answers": answers})
    return rows


def _answers(rng: random.Random, survey: Survey, profile: Profile, gain: float, lifts: dict[str, float], *,
             critical: bool) -> Json:
    mood = rng.gauss(0, 1)
    loadings = LOADINGS[survey.kind]
    answers: Json = {}
    means: list[float] = []
    for question in survey.questions:
        factor = question.factor
        if question.type != "matrix" or factor is None or not question.rows:
            continue
        mean = (profile.level + profile.factors.get(factor, 0.0) + lifts.get(factor, 0.0) + gain
                + loadings.get(factor, 0.5) * mood)
        mean += rng.gauss(0, 0.5)
        if critical and factor == "service_quality":
            mean = 2.5
        means.append(mean)
        # Floor 4: outside the critical cases no answer trips an alert by chance.
        low = 1 if critical else 4
        answers[question.code] = {row.code: _clip(round(mean + rng.gauss(0, 0.6)), low, 10)
                                  for row in question.rows}
    if any(q.code == "fixed_first_time" for q in survey.questions):
        answers["fixed_first_time"] = "no" if critical else "yes"
    average = sum(means) / len(means)
    nps = _clip(round(average + 0.7 + rng.gauss(0, 1.1)), 0, 10)
    answers["nps"] = 2 if critical else nps
    if answers["nps"] <= 6:
        answers["nps_reason"] = rng.choice(("Waited too long.", "Felt overcharged.", "Problem not fixed.",
                                            "Nobody explained what was done."))
    if rng.random() < 0.1:
        answers["comment"] = rng.choice(("Friendly staff.", "Coffee was cold.", "Quick and clean, thanks.",
                                         "Please call before starting extra work."))
    return answers


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


# --- complaints ---------------------------------------------------------------------------------

def _complaints(api: CSLoop, rng: random.Random, dealer: str, *, breach: bool) -> int:
    chosen = rng.sample(COMPLAINTS, k=4)
    for category, priority, channel, state, description in chosen:
        case = api.complaints.create(dealer_code=dealer, channel=channel, category=category, priority=priority,
                                    description=description)
        _advance(api, case, state)
    if breach:
        _breached_p1(api, dealer)
    return len(chosen) + breach


def _advance(api: CSLoop, case: Complaint, state: str) -> None:
    path = {"new": [], "acknowledged": ["acknowledged"], "in_progress": ["acknowledged", "in_progress"],
            "resolved": ["acknowledged", "in_progress", "resolved"],
            "closed": ["acknowledged", "in_progress", "resolved", "closed"]}[state]
    for to in path:
        if to == "resolved":
            summary, cause, cause_text, actions, compensation = RESOLUTIONS[case.category]
            case = api.complaints.resolve(
                case, summary=summary, root_cause={"category": cause, "text": cause_text}, actions=actions,
                compensation_minor=compensation, customer_agrees=True,
                corrective_action={"description": "Review the case at the weekly service meeting.",
                                   "owner": "Service manager", "due": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()})
        case = api.complaints.transition(case, to, note=f"Demo: moved to {to}.")


def _breached_p1(api: CSLoop, dealer: str) -> None:
    """A safety complaint nobody answered in time. Complaints open "now" and a P1's first response
    is due in hours, so the dealer's P1 policy is briefly a one-minute one (the SLA job marks the
    breach within a minute or so), then set back to what it was."""
    before = next(p for p in api.sla_policies.get(dealer).items if p.priority == "P1")
    api.sla_policies.put([{"priority": "P1", "first_response_hours": 1 / 60, "resolution_hours": 1}], dealer)
    try:
        api.complaints.create(dealer_code=dealer, channel="hotline", category="product_quality", priority="P1",
                             description="Brake warning light on and the pedal feels soft after the service.",
                             vehicle_model="RAV4", symptom_codes=["BRK-01"])
    finally:
        restored = before.model_dump(mode="json", include={"priority", "first_response_hours", "resolution_hours"})
        if before.calendar:
            restored["calendar"] = before.calendar.model_dump(mode="json")
        api.sla_policies.put([restored], dealer)
