"""Dealer evaluation arithmetic (KPI.md, "Dealer evaluation"): pure, unrounded, easy to check by hand.

points = 100 * clamp((value - floor) / (ceiling - floor), 0, 1); a floor above the ceiling means
lower is better, which the same formula handles (the denominator is negative). An element's score
is the weighted mean of its KPIs' points over the KPIs that have a value; the total the weighted
mean of the element scores over the elements that have one; None when nothing has a value.
The tier is the highest whose min_score the unrounded total reaches; ranks are competition ranks
(equal totals share a rank, the next rank skips), unscored orgs have none.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.kpi.domain import Agg


@dataclass(frozen=True)
class KpiRule:
    kpi: str
    weight: float
    floor: float
    ceiling: float


@dataclass(frozen=True)
class Element:
    code: str
    weight: float
    kpis: tuple[KpiRule, ...]


@dataclass(frozen=True)
class Tier:
    name: str
    min_score: float
    rebate_pct: float


@dataclass(frozen=True)
class Scored:
    """One org's evaluation: `elements` is CODE -> {score, kpis: {KPI: {value, n, points}}}, unrounded."""

    org_code: str
    org_path: str
    score: float | None
    elements: dict[str, dict[str, Any]]
    rank: int | None = None
    tier: str | None = None
    rebate_pct: float | None = None


def points(value: float, floor: float, ceiling: float) -> float:
    return 100.0 * min(max((value - floor) / (ceiling - floor), 0.0), 1.0)


def weighted_mean(pairs: Iterable[tuple[float, float | None]]) -> float | None:
    """Mean of the values weighted by their weights, over the pairs whose value is not None."""
    total = weight = 0.0
    for w, value in pairs:
        if value is not None:
            total += w * value
            weight += w
    return total / weight if weight else None


def score(org_code: str, org_path: str, elements: tuple[Element, ...], figures: Mapping[str, Agg]) -> Scored:
    """One org's evaluation from its figure for every KPI of the scheme (an absent KPI has no value)."""
    out: dict[str, dict[str, Any]] = {}
    element_scores: list[tuple[float, float | None]] = []
    for element in elements:
        kpis: dict[str, dict[str, Any]] = {}
        kpi_points: list[tuple[float, float | None]] = []
        for rule in element.kpis:
            agg = figures.get(rule.kpi, Agg())
            got = None if agg.value is None else points(agg.value, rule.floor, rule.ceiling)
            kpis[rule.kpi] = {"value": agg.value, "n": agg.n, "points": got}
            kpi_points.append((rule.weight, got))
        element_score = weighted_mean(kpi_points)
        out[element.code] = {"score": element_score, "kpis": kpis}
        element_scores.append((element.weight, element_score))
    return Scored(org_code, org_path, weighted_mean(element_scores), out)


def tier_of(total: float | None, tiers: tuple[Tier, ...]) -> Tier | None:
    reached = [tier for tier in tiers if total is not None and total >= tier.min_score]
    return max(reached, key=lambda tier: tier.min_score, default=None)


def ranked(scored: Iterable[Scored], tiers: tuple[Tier, ...]) -> list[Scored]:
    """Best first, with rank and tier; equal totals share a rank (ordered by code); unscored last, unranked."""
    every = list(scored)
    with_score = sorted((s for s in every if s.score is not None), key=lambda s: (-(s.score or 0.0), s.org_code))
    out: list[Scored] = []
    for i, s in enumerate(with_score):
        rank = out[-1].rank if out and out[-1].score == s.score else i + 1
        tier = tier_of(s.score, tiers)
        out.append(Scored(s.org_code, s.org_path, s.score, s.elements, rank, tier and tier.name,
                          tier and tier.rebate_pct))
    return out + sorted((s for s in every if s.score is None), key=lambda s: s.org_code)
