"""A year of history for the demo network, so the dashboard has trends, rankings and drivers.

The manufacturer publishes CSI and SSI from the templates and imports a third-party study's
results for the last 12 months (`POST /v1/survey-responses/import`, one batch per dealer and
survey). Answers come from a small model, so dealers differ as a real network does:

- each dealer has a level and a factor it is weak or strong on, and improves slowly;
- a customer's mood moves every factor, some more than others (the factor's "loading"), so
  factors correlate differently with the index and the drivers chart has something to say;
- NPS follows the factor scores, with a few detractors; this month a couple of customers per
  dealer report a repair not fixed (a critical answer: a survey alert, hence a complaint case).

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


def seed_history(api: CSLoop, dealers: list[str], manufacturer: str, *, seed_value: int = 7,
                 now: datetime | None = None) -> dict[str, int]:
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    counts = {"survey_responses": 0, "complaints": 0, "targets": 0}
    for kind in ("csi", "ssi"):
        survey = _published_survey(api, kind)
        for dealer in dealers:
            rows = [row for months_ago in range(MONTHS - 1, -1, -1)
                    for row in _month_rows(rng, survey, dealer, months_ago, now)]
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


def _month_rows(rng: random.Random, survey: Survey, dealer: str, months_ago: int, now: datetime) -> list[Json]:
    kind = survey.kind
    start = _month_start(now, months_ago)
    end = min(_month_start(now, months_ago - 1), now - timedelta(minutes=5))
    profile = PROFILES.get(dealer, Profile(7.5))
    rows = []
    for n in range(PER_MONTH[kind]):
        # This month, the first two CSI customers of each dealer had a repair that was not fixed.
        critical = kind == "csi" and months_ago == 0 and n < 2
        at = start + (end - start) * rng.random()
        answers = _answers(rng, survey, profile, (MONTHS - 1 - months_ago) * profile.trend, critical=critical)
        rows.append({"external_id": f"{kind}-{dealer}-{start:%Y%m}-{n:03d}", "dealer_code": dealer,
                     "submitted_at": at.isoformat(timespec="seconds"), "answers": answers})
    return rows


def _answers(rng: random.Random, survey: Survey, profile: Profile, gain: float, *, critical: bool) -> Json:
    mood = rng.gauss(0, 1)
    loadings = LOADINGS[survey.kind]
    answers: Json = {}
    means: list[float] = []
    for question in survey.questions:
        factor = question.factor
        if question.type != "matrix" or factor is None or not question.rows:
            continue
        mean = profile.level + profile.factors.get(factor, 0.0) + gain + loadings.get(factor, 0.5) * mood
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
