"""Answers checked against the version they answer: types, scales, options, required, show_if.

Questions are visited in order; a question's `show_if` sees only the valid answers of the
questions before it. Answers to questions that `show_if` hid are dropped, not refused: a
page may keep an answer the customer gave before changing an earlier one. An empty value
(null, "", [], {}) counts as not answered.
"""

from typing import Any

from services.survey.definition import Definition, Question
from shared.contracts import conditions
from shared.problems import UnprocessableContent

MAX_TEXT = 4000


def clean_answers(definition: Definition, submitted: dict[str, Any]) -> dict[str, Any]:
    """The answers to keep (shown questions only), or 422 naming every bad question."""
    errors: list[dict[str, str]] = []
    known = {question.code for question in definition.questions}
    for code in submitted:
        if code not in known:
            errors.append({"field": f"answers.{code}", "message": "no such question in this survey version"})
    clean: dict[str, Any] = {}
    for question in definition.questions:
        if question.show_if is not None and not conditions.evaluate(question.show_if, clean):
            continue
        value = _empty_to_none(submitted.get(question.code))
        if value is None:
            if question.required:
                errors.append({"field": f"answers.{question.code}", "message": "an answer is required"})
            continue
        problems = _check(question, value)
        if problems:
            errors += problems
        else:
            clean[question.code] = value
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise UnprocessableContent(detail, errors=errors)
    return clean


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, dict):
        value = {row: rating for row, rating in value.items() if rating is not None}
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, list | dict) and not value:
        return None
    return value


def _check(question: Question, value: Any) -> list[dict[str, str]]:
    field = f"answers.{question.code}"
    match question.type:
        case "rating" | "nps":
            message = _scale_problem(value, *question.scale())
            return [{"field": field, "message": message}] if message else []
        case "single_choice":
            if value not in [option.value for option in question.options] or isinstance(value, bool):
                return [{"field": field, "message": "not one of the options"}]
            return []
        case "multi_choice":
            return _check_choices(question, value, field)
        case "text":
            if not isinstance(value, str):
                return [{"field": field, "message": "expected text"}]
            return [{"field": field, "message": f"at most {MAX_TEXT} characters"}] if len(value) > MAX_TEXT else []
        case _:
            return _check_matrix(question, value, field)


def _scale_problem(value: Any, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        return f"expected a whole number from {low} to {high}"
    if not low <= value <= high:
        return f"out of scale: from {low} to {high}"
    return None


def _check_choices(question: Question, value: Any, field: str) -> list[dict[str, str]]:
    allowed = [option.value for option in question.options]
    if not isinstance(value, list):
        return [{"field": field, "message": "expected a list of options"}]
    if any(isinstance(item, bool) or item not in allowed for item in value):
        return [{"field": field, "message": "not one of the options"}]
    if len(set(value)) != len(value):
        return [{"field": field, "message": "an option is chosen twice"}]
    return []


def _check_matrix(question: Question, value: Any, field: str) -> list[dict[str, str]]:
    if not isinstance(value, dict):
        return [{"field": field, "message": "expected an object of row: rating"}]
    rows = [row.code for row in question.rows]
    errors = [{"field": f"{field}.{code}", "message": "no such row"} for code in value if code not in rows]
    for code in rows:
        row_value = value.get(code)
        if row_value is None:  # rows left empty were dropped by _empty_to_none
            if question.required:
                errors.append({"field": f"{field}.{code}", "message": "an answer is required"})
        elif message := _scale_problem(row_value, *question.scale()):
            errors.append({"field": f"{field}.{code}", "message": message})
    return errors
