"""`show_if` evaluation for rendering: which questions the page shows for the answers so far.

The survey service owns the condition language (services/survey/conditions.py) and has the
last word: it drops answers to hidden questions and validates the rest. The gateway never
imports a service's package, so this is the small reading of it the page needs; the inline
script in templates/survey/_enhance.html mirrors it in the browser.
"""

from collections.abc import Mapping, Sequence
from typing import Any

OPERATORS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "answered")


def evaluate(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    if "all" in condition:
        return all(evaluate(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(evaluate(part, answers) for part in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], answers)
    code, _, row = str(condition.get("question", "")).partition(".")
    value = answers.get(code)
    if row:
        value = value.get(row) if isinstance(value, dict) else None
    operator = next((op for op in OPERATORS if op in condition), None)
    if operator is None:
        return False
    expected = condition[operator]
    if operator == "answered":
        return (value is not None) == bool(expected)
    if value is None:
        return False
    try:
        return _test(operator, expected, value)
    except TypeError:  # a number compared with text: the service would refuse the answer anyway
        return False


def _test(operator: str, expected: Any, value: Any) -> bool:
    if isinstance(value, list):
        hits = [item in expected for item in value] if operator in ("in", "not_in") else [expected in value]
        return {"equals": any(hits), "in": any(hits), "not_equals": not any(hits), "not_in": not any(hits)}.get(
            operator, False)
    return {
        "equals": lambda: value == expected, "not_equals": lambda: value != expected,
        "in": lambda: value in expected, "not_in": lambda: value not in expected,
        "gt": lambda: value > expected, "gte": lambda: value >= expected,
        "lt": lambda: value < expected, "lte": lambda: value <= expected,
    }[operator]()


def visible_codes(questions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> set[str]:
    """Questions shown, in order: a condition sees only the answers of shown questions before it."""
    shown: set[str] = set()
    seen: dict[str, Any] = {}
    for question in questions:
        condition = question.get("show_if")
        if condition is None or evaluate(condition, seen):
            shown.add(question["code"])
            if question["code"] in answers:
                seen[question["code"]] = answers[question["code"]]
    return shown
