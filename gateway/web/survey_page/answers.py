"""The posted form as the survey service's `{answers: {...}}`, and its 422 errors per question.

Form field names: `<code>` for every question type (repeated for multi_choice), and
`<code>.<row>` for a row of a matrix. Ratings, NPS and matrix rows become ints, choices
become the option's own value (an int option stays an int), multi_choice a list. Anything
that does not parse is passed on as typed, so the service names the problem.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_WHOLE_NUMBER = re.compile(r"^-?\d{1,9}$")


def answers_from_form(questions: Sequence[Mapping[str, Any]], form: Iterable[tuple[str, str]]) -> dict[str, Any]:
    posted: dict[str, list[str]] = {}
    for name, value in form:
        posted.setdefault(name, []).append(value)
    answers: dict[str, Any] = {}
    for question in questions:
        code = question["code"]
        value = _convert(question, posted.get(code, []), posted)
        if value is not None:
            answers[code] = value
    return answers


def _convert(question: Mapping[str, Any], values: list[str], posted: Mapping[str, list[str]]) -> Any:
    first = next((v.strip() for v in values if v.strip()), None)
    match question["type"]:
        case "rating" | "nps":
            return _number(first) if first is not None else None
        case "single_choice":
            return _option(question, first) if first is not None else None
        case "multi_choice":
            chosen = list(dict.fromkeys(_option(question, v.strip()) for v in values if v.strip()))
            return chosen or None
        case "text":
            text = next((v for v in values if v.strip()), None)
            return text.replace("\r\n", "\n") if text is not None else None
        case "matrix":
            rows = {}
            for row in question.get("rows", []):
                row_value = next((v.strip() for v in posted.get(f"{question['code']}.{row['code']}", []) if v.strip()), None)
                if row_value is not None:
                    rows[row["code"]] = _number(row_value)
            return rows or None
    return None


def _number(value: str) -> int | str:
    return int(value) if _WHOLE_NUMBER.match(value) else value


def _option(question: Mapping[str, Any], value: str) -> Any:
    for option in question.get("options", []):
        if str(option["value"]) == value:
            return option["value"]
    return value


@dataclass
class FieldErrors:
    """A 422's `errors[]` sorted by question: `(row or None, message)` each, and the rest."""

    by_question: dict[str, list[tuple[str | None, str]]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.by_question or self.general)


def field_errors(problem: Mapping[str, Any], question_codes: Iterable[str]) -> FieldErrors:
    known = set(question_codes)
    found = FieldErrors()
    for error in problem.get("errors") or []:
        parts = str(error.get("field", "")).split(".")
        message = str(error.get("message", ""))
        if len(parts) >= 2 and parts[0] == "answers" and parts[1] in known:
            row = parts[2] if len(parts) > 2 else None
            found.by_question.setdefault(parts[1], []).append((row, message))
        else:
            found.general.append(message)
    if not found and problem.get("detail"):
        found.general.append(str(problem["detail"]))
    return found
