"""The condition language of `show_if` and `critical`: small, JSON, checked when a survey is saved.

Its one home: the survey service checks conditions (`check`) and applies them to answers
(`evaluate`); the gateway's survey page shows the questions they leave visible (`visible_codes`).

    condition := {"question": REF, OP: VALUE}
               | {"all": [condition, ...]} | {"any": [condition, ...]} | {"not": condition}
    REF       := a question code, or "matrix_code.row_code" for one row of a matrix
    OP        := equals | not_equals | in | not_in | gt | gte | lt | lte | answered

- A reference to an unanswered question (or one that `show_if` hid) is false for every
  operator except `{"answered": false}`.
- On a multi_choice answer (a list): `equals v` means v was chosen, `in [..]` means any of
  them was chosen, `not_equals` / `not_in` the opposite; order comparisons do not apply.
- `show_if` may only refer to questions before it, so a survey can be read top to bottom
  and conditions cannot form a cycle.
- `critical` is a condition on the question's own answer, without "question":
  `{"lte": 2}`, `{"equals": "no"}`. On a matrix it is critical when any row matches.
"""

from collections.abc import Mapping, Sequence
from typing import Any

COMPARISONS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte")
OPERATORS = (*COMPARISONS, "answered")
ORDERED = ("gt", "gte", "lt", "lte")
NUMERIC_TYPES = ("rating", "nps")


def lookup(ref: str, answers: Mapping[str, Any]) -> Any:
    code, _, row = ref.partition(".")
    value = answers.get(code)
    if row:
        return value.get(row) if isinstance(value, dict) else None
    return value


def evaluate(condition: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    """Whether `answers` meet `condition` (one that `check` accepted)."""
    if "all" in condition:
        return all(evaluate(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(evaluate(part, answers) for part in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], answers)
    value = lookup(condition["question"], answers)
    operator = next(op for op in OPERATORS if op in condition)
    expected = condition[operator]
    if operator == "answered":
        return (value is not None) == bool(expected)
    if value is None:
        return False
    if isinstance(value, list):
        return _on_choices(operator, expected, value)
    return _compare(operator, expected, value)


def visible_codes(questions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> set[str]:
    """The questions shown, in order: a `show_if` sees only the answers of shown questions before it."""
    shown: set[str] = set()
    seen: dict[str, Any] = {}
    for question in questions:
        condition = question.get("show_if")
        if condition is None or evaluate(condition, seen):
            shown.add(question["code"])
            if question["code"] in answers:
                seen[question["code"]] = answers[question["code"]]
    return shown


def _on_choices(operator: str, expected: Any, chosen: list[Any]) -> bool:
    if operator == "equals":
        return expected in chosen
    if operator == "not_equals":
        return expected not in chosen
    if operator == "in":
        return any(item in expected for item in chosen)
    if operator == "not_in":
        return not any(item in expected for item in chosen)
    return False


def _compare(operator: str, expected: Any, value: Any) -> bool:
    if operator in ORDERED and not _number(value):
        # The gateway's page evaluates answers before the service validates them: a rating
        # typed as text is in no order with a number.
        return False
    match operator:
        case "equals":
            return value == expected
        case "not_equals":
            return value != expected
        case "in":
            return value in expected
        case "not_in":
            return value not in expected
        case "gt":
            return value > expected
        case "gte":
            return value >= expected
        case "lt":
            return value < expected
        case _:
            return value <= expected


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check(condition: Any, refs: Mapping[str, str], *, depth: int = 0) -> list[str]:
    """What is wrong with `condition`, given the references it may use and their answer types.

    `refs` maps each usable reference to its question type (a matrix row counts as `rating`,
    a whole matrix as `matrix`).
    """
    if depth > 8:
        return ["conditions nest at most 8 deep"]
    if not isinstance(condition, dict):
        return ["a condition is an object"]
    for combinator in ("all", "any"):
        if combinator in condition:
            parts = condition[combinator]
            if len(condition) != 1 or not isinstance(parts, list) or not parts:
                return [f"'{combinator}' takes a non-empty list and nothing beside it"]
            return [message for part in parts for message in check(part, refs, depth=depth + 1)]
    if "not" in condition:
        if len(condition) != 1:
            return ["'not' takes one condition and nothing beside it"]
        return check(condition["not"], refs, depth=depth + 1)
    return _check_leaf(condition, refs)


def _check_leaf(condition: dict[str, Any], refs: Mapping[str, str]) -> list[str]:
    ref = condition.get("question")
    operators = [key for key in condition if key != "question"]
    if not isinstance(ref, str) or ref not in refs:
        return [f"'question' must name an earlier question (or matrix.row), not {ref!r}"]
    if len(operators) != 1 or operators[0] not in OPERATORS:
        return [f"a condition has exactly one operator of {', '.join(OPERATORS)}"]
    operator, expected = operators[0], condition[operators[0]]
    answer_type = refs[ref]
    if operator == "answered":
        return [] if isinstance(expected, bool) else ["'answered' takes true or false"]
    if answer_type in ("matrix", "text") and operator != "answered":
        return [f"a {answer_type} question can only be tested with 'answered'"]
    if operator in ORDERED and answer_type not in NUMERIC_TYPES:
        return [f"'{operator}' needs a rating or nps question"]
    if operator in ("in", "not_in"):
        if not isinstance(expected, list) or not expected:
            return [f"'{operator}' takes a non-empty list"]
        if not all(_scalar(item) for item in expected):
            return [f"'{operator}' takes a list of numbers or strings"]
        return []
    if operator in ORDERED and (isinstance(expected, bool) or not isinstance(expected, int | float)):
        return [f"'{operator}' takes a number"]
    return [] if _scalar(expected) else [f"'{operator}' takes a number or a string"]


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)
