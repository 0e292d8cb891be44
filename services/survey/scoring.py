"""Scores of one response, exactly as KPI.md "Survey scores" defines them.

- A rating answer a on [min, max] scales to 100 * (a - min) / (max - min).
- A factor's score is the mean of its answered rating items; each matrix row is one item.
  SERVQUAL expectation items are not satisfaction and stay out of factor scores.
- The index is sum(w_f * s_f) / sum(w_f) over the factors that have a score.
- NPS category from the first answered nps question: promoter 9-10, passive 7-8, detractor 0-6.
- SERVQUAL (when the survey has expectation items), per dimension (= factor) on the raw
  scale: gap = mean(perception) - mean(expectation), css = mean(perception) / mean(expectation);
  overall gap = weighted mean of the dimension gaps, overall css = weighted mean perception
  over weighted mean expectation (dimensions having both).

Everything is kept unrounded; `rounded()` is for responses only.
"""

from collections import defaultdict
from typing import Any

from services.survey.definition import Definition, Question


def scale(answer: float, low: int, high: int) -> float:
    return 100.0 * (answer - low) / (high - low)


def nps_category(score: int) -> str:
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


def _items(question: Question, answer: Any) -> list[float]:
    """The raw rating items an answer holds: one for a rating, one per answered matrix row."""
    if question.type == "rating":
        return [answer]
    if question.type == "matrix":
        return [answer[row.code] for row in question.rows if answer.get(row.code) is not None]
    return []


def score(definition: Definition, answers: dict[str, Any]) -> dict[str, Any]:
    """`answers` are clean (validated, hidden questions dropped)."""
    scaled: dict[str, list[float]] = defaultdict(list)
    raw: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"expectation": [], "perception": []})
    nps_score: int | None = None
    for question in definition.questions:
        answer = answers.get(question.code)
        if answer is None:
            continue
        if question.type == "nps" and nps_score is None:
            nps_score = int(answer)
        if question.factor is None:
            continue
        items = _items(question, answer)
        raw[question.factor][question.role or "perception"] += items
        if question.role != "expectation":
            scaled[question.factor] += [scale(item, *question.scale()) for item in items]
    factors = {code: sum(values) / len(values) for code, values in scaled.items() if values}
    weights = {factor.code: factor.weight for factor in definition.factors}
    answered = [code for code in weights if code in factors]
    index = (sum(weights[c] * factors[c] for c in answered) / sum(weights[c] for c in answered)) if answered else None
    result: dict[str, Any] = {
        "index": index,
        "factors": {code: factors[code] for code in weights if code in factors},
        "nps_score": nps_score,
        "nps_category": nps_category(nps_score) if nps_score is not None else None,
    }
    if any(q.role == "expectation" for q in definition.questions):
        result["servqual"] = _servqual(raw, weights)
    return result


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _servqual(raw: dict[str, dict[str, list[float]]], weights: dict[str, float]) -> dict[str, Any]:
    dimensions: dict[str, dict[str, float]] = {}
    for code in weights:
        pair = raw.get(code)
        if not pair or not pair["expectation"] or not pair["perception"]:
            continue
        expectation, perception = _mean(pair["expectation"]), _mean(pair["perception"])
        dimensions[code] = {
            "expectation": expectation, "perception": perception, "gap": perception - expectation,
            "css": perception / expectation if expectation else None,
        }
    total = sum(weights[c] for c in dimensions)
    if not dimensions:
        return {"dimensions": {}, "gap": None, "css": None}
    weighted_p = sum(weights[c] * d["perception"] for c, d in dimensions.items()) / total
    weighted_e = sum(weights[c] * d["expectation"] for c, d in dimensions.items()) / total
    return {
        "dimensions": dimensions,
        "gap": sum(weights[c] * d["gap"] for c, d in dimensions.items()) / total,
        "css": weighted_p / weighted_e if weighted_e else None,
    }


def rounded(value: Any) -> Any:
    """One decimal on every float of a score structure, for a response body."""
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value
