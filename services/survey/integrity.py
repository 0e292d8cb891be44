"""Survey integrity (DOMAIN.md): the six flags as small pure rules, and the rules an organisation
sets for its subtree.

Each rule takes the facts the caller gathered (timing, answers, counts from the same dealer's
history) and the numbers in force, and says whether it fires. The numbers' defaults are
settings; an organisation's `PUT /v1/survey-integrity/rules` replaces them for its subtree and
the nearest organisation's rules win.
"""

import hashlib
import statistics
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.survey.definition import Definition
from services.survey.settings import SurveySettings
from shared.contracts import conditions
from shared.contracts.survey import Integrity, IntegrityFlag

# The order flags are listed in, on a response and in the rules.
FLAGS: tuple[IntegrityFlag, ...] = ("speeder", "straight_line", "shared_device", "dealer_network",
                                    "duplicate_text", "dealer_spike")


@dataclass(frozen=True)
class Signals:
    """What the gateway tells about a public submission (integrity_common.md): salted hashes of the
    client address and of address + user agent, and whether the address is in the dealer's networks."""

    client_hash: str | None = None
    device_hash: str | None = None
    dealer_network: bool = False


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: bool = True


class SpeederRule(_Rule):
    min_share: float = Field(1 / 3, gt=0, le=1, description="Flagged when answered in under this share of the expected time")


class StraightLineRule(_Rule):
    min_items: int = Field(8, ge=2, le=200, description="Flagged when at least this many rating items all have one value")


class SharedDeviceRule(_Rule):
    customers: int = Field(3, ge=2, le=100, description="Flagged when one device answered this many customers' invitations")
    days: int = Field(7, ge=1, le=90, description="... within this many days")


class DuplicateTextRule(_Rule):
    others: int = Field(2, ge=1, le=100, description="Flagged when the same free text is in this many other responses of the dealer")


class DealerNetworkRule(_Rule):
    pass


class DealerSpikeRule(_Rule):
    sd: float = Field(3.0, gt=0, le=10, description="A week above the mean of the previous weeks plus this many standard deviations")
    weeks: int = Field(12, ge=4, le=52, description="How many previous weeks the mean and deviation come from")


class IntegrityFlags(BaseModel):
    """Every flag's switch and numbers; a flag left out keeps its defaults."""

    model_config = ConfigDict(extra="forbid")

    speeder: SpeederRule = Field(default_factory=SpeederRule)
    straight_line: StraightLineRule = Field(default_factory=StraightLineRule)
    shared_device: SharedDeviceRule = Field(default_factory=SharedDeviceRule)
    duplicate_text: DuplicateTextRule = Field(default_factory=DuplicateTextRule)
    dealer_network: DealerNetworkRule = Field(default_factory=DealerNetworkRule)
    dealer_spike: DealerSpikeRule = Field(default_factory=DealerSpikeRule)


def default_flags(settings: SurveySettings) -> IntegrityFlags:
    """The rules in force where no organisation set any: every flag on, the settings' numbers."""
    return IntegrityFlags(
        speeder=SpeederRule(min_share=settings.integrity_speeder_min_share),
        straight_line=StraightLineRule(min_items=settings.integrity_straight_line_min_items),
        shared_device=SharedDeviceRule(customers=settings.integrity_shared_device_customers,
                                       days=settings.integrity_shared_device_days),
        duplicate_text=DuplicateTextRule(others=settings.integrity_duplicate_text_others),
        dealer_spike=DealerSpikeRule(sd=settings.integrity_spike_sd, weeks=settings.integrity_spike_weeks),
    )


def shown(definition: Definition, answers: dict[str, Any]) -> int:
    """How many questions the customer was shown (those whose condition the answers meet)."""
    return sum(1 for question in definition.questions
               if question.show_if is None or conditions.evaluate(question.show_if, answers))


def expected_seconds(definition: Definition, answers: dict[str, Any], per_question: float) -> float:
    return float(definition.expected_seconds or per_question * shown(definition, answers))


def speeder(duration: float | None, expected: float, rule: SpeederRule) -> bool:
    """Answered in under `min_share` of the expected time; no duration (never opened through the
    page or the JSON API) is no evidence."""
    return rule.on and duration is not None and duration < expected * rule.min_share


def rating_values(definition: Definition, answers: dict[str, Any]) -> list[Any]:
    """The answers to rating items: rating questions and each matrix row (an NPS answer is not one)."""
    values: list[Any] = []
    for question in definition.questions:
        value = answers.get(question.code)
        if value is None:
            continue
        if question.type == "rating":
            values.append(value)
        elif question.type == "matrix" and isinstance(value, dict):
            values += list(value.values())
    return values


def straight_line(definition: Definition, answers: dict[str, Any], rule: StraightLineRule) -> bool:
    values = rating_values(definition, answers)
    return rule.on and len(values) >= rule.min_items and len(set(values)) == 1


def free_text(definition: Definition, answers: dict[str, Any]) -> str:
    """The response's free text, normalised (case, width, spacing) so a copy with other spacing matches."""
    parts = [str(answers[question.code]) for question in definition.questions
             if question.type == "text" and answers.get(question.code)]
    text = " ".join(" ".join(parts).split())
    return unicodedata.normalize("NFKC", text).casefold()


def text_hash(definition: Definition, answers: dict[str, Any]) -> str | None:
    """A digest of the free text to find copies by (None: no free text, nothing to copy)."""
    text = free_text(definition, answers)
    return hashlib.sha256(text.encode()).hexdigest() if text else None


# A count no group reaches: where a rule switched off "fires".
NEVER = 2**31 - 1


def shared_device_from(rule: SharedDeviceRule) -> int:
    """The fewest customers on one device (the response's own included) that raise the flag; the
    submission's statement compares its counts with it too (TokenRepository.add_response)."""
    return rule.customers if rule.on else NEVER


def shared_device(customers_on_device: int, rule: SharedDeviceRule) -> bool:
    """`customers_on_device`: distinct customers (this one included) the device answered for the
    dealer within the rule's days."""
    return customers_on_device >= shared_device_from(rule)


def duplicate_text_from(rule: DuplicateTextRule) -> int:
    """The fewest other responses with the same free text that raise the flag (as shared_device_from)."""
    return rule.others if rule.on else NEVER


def duplicate_text(others_with_text: int, rule: DuplicateTextRule) -> bool:
    return others_with_text >= duplicate_text_from(rule)


def dealer_network(from_dealer_network: bool, rule: DealerNetworkRule) -> bool:
    return rule.on and from_dealer_network


def dealer_spike(week: float, previous: list[float], n: int, min_n: int, rule: DealerSpikeRule) -> bool:
    """The week's CSI (from `n` responses) above the mean + `sd` standard deviations (population) of
    the CSI of the previous weeks that had responses (of the rule's `weeks`). Needs `min_n`
    responses in the week, and two previous weeks at least: one week has no deviation to judge by."""
    if not rule.on or n < min_n or len(previous) < 2:
        return False
    return week > statistics.fmean(previous) + rule.sd * statistics.pstdev(previous)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding `moment`."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def weekly_csi(scores: list[tuple[datetime, float]], judged: datetime, weeks: int) -> tuple[float | None, int, list[float]]:
    """(the judged week's CSI or None, its response count, the CSI of each previous week with responses)
    from (submitted_at, index) pairs; a week's CSI is the mean index of its responses."""
    by_week: dict[datetime, list[float]] = {}
    for submitted_at, index in scores:
        by_week.setdefault(week_start(submitted_at), []).append(index)
    this_week = by_week.get(judged, [])
    previous = [statistics.fmean(by_week[judged - timedelta(weeks=back)]) for back in range(weeks, 0, -1)
                if judged - timedelta(weeks=back) in by_week]
    return (statistics.fmean(this_week) if this_week else None), len(this_week), previous


def integrity_of(flags: list[str]) -> Integrity:
    """A new response's integrity: flagged with its reasons, or clean."""
    ordered = [flag for flag in FLAGS if flag in flags]
    return Integrity(status="flagged" if ordered else "clean", flags=ordered)


def with_flags(status: str, flags: list[str], raised: list[IntegrityFlag]) -> Integrity | None:
    """An earlier response's integrity once `raised` are raised on it, or None when nothing changes:
    it has them already, or a review decided it (a reviewer saw it; a later flag does not reopen it)."""
    if status in ("valid", "invalid") or all(flag in flags for flag in raised):
        return None
    return integrity_of([*flags, *raised])
