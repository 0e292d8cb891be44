"""What the survey template renders: each question with its inputs, values kept and errors placed."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.web.survey_page import i18n
from gateway.web.survey_page.answers import FieldErrors
from shared.contracts.conditions import visible_codes


@dataclass
class Choice:
    id: str
    value: str
    label: str
    checked: bool


@dataclass
class Row:
    code: str
    id: str
    name: str
    text: str
    choices: list[Choice]
    error: str | None = None


@dataclass
class QuestionView:
    code: str
    type: str
    id: str
    number: int
    text: str
    required: bool
    visible: bool
    conditional: bool
    factor: str = ""
    choices: list[Choice] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    text_value: str = ""
    low: int = 0
    high: int = 0
    low_hint: str = ""
    high_hint: str = ""
    columns: int = 5
    show_hint: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def invalid(self) -> bool:
        return bool(self.errors) or any(row.error for row in self.rows)


def question_views(questions: Sequence[Mapping[str, Any]], factors: Sequence[Mapping[str, Any]],
                   answers: Mapping[str, Any], errors: FieldErrors, lang: str) -> list[QuestionView]:
    shown = visible_codes(questions, answers)
    words = i18n.words(lang)
    factors = {factor["code"]: i18n.local(factor.get("title"), lang) for factor in factors}
    views = []
    for number, question in enumerate(questions, start=1):
        code = question["code"]
        view = QuestionView(code=code, type=question["type"], id=f"q-{code}", number=number,
                            text=i18n.local(question.get("text"), lang), required=bool(question.get("required")),
                            visible=code in shown, conditional=question.get("show_if") is not None,
                            factor=factors.get(question.get("factor") or "", ""))
        _fill(view, question, answers.get(code), lang)
        problems = errors.by_question.get(code, [])
        view.errors = [i18n.message(message, lang) for row, message in problems if row is None]
        for row in view.rows:
            row.error = next((i18n.message(m, lang) for r, m in problems if r == row.code), None)
        if view.rows and any(row.error for row in view.rows) and not view.errors:
            view.errors = [words["rate_every_row"]]
        views.append(view)
    return views


def _fill(view: QuestionView, question: Mapping[str, Any], value: Any, lang: str) -> None:
    words = i18n.words(lang)
    match view.type:
        case "rating" | "nps" | "matrix":
            low, high = (0, 10) if view.type == "nps" else (question.get("scale_min") or 1, question.get("scale_max") or 5)
            kind = "nps" if view.type == "nps" else "rating"
            view.low, view.high = low, high
            view.low_hint, view.high_hint = words[f"low_{kind}"], words[f"high_{kind}"]
            # Many questions already say what the ends mean ("1 = very dissatisfied ...").
            view.show_hint = view.type == "nps" or not (f"{low}=" in view.text.replace(" ", "")
                                                        or f"({low}-{high})" in view.text)
            count = high - low + 1
            view.columns = count if count <= 6 else min(6, (count + 1) // 2)
            if view.type == "matrix":
                view.rows = [_row(view, row, low, high, value, lang) for row in question.get("rows", [])]
            else:
                view.choices = _scale(view.id, low, high, value)
        case "single_choice" | "multi_choice":
            chosen = value if isinstance(value, list) else [value]
            view.choices = [
                Choice(f"{view.id}-o{index}", str(option["value"]), i18n.local(option.get("label"), lang),
                       option["value"] in chosen or str(option["value"]) in [str(c) for c in chosen])
                for index, option in enumerate(question.get("options", []))
            ]
        case "text":
            view.text_value = value if isinstance(value, str) else ""


def _scale(prefix: str, low: int, high: int, value: Any) -> list[Choice]:
    return [Choice(f"{prefix}-{n}", str(n), str(n), value == n or value == str(n)) for n in range(low, high + 1)]


def _row(view: QuestionView, row: Mapping[str, Any], low: int, high: int, value: Any, lang: str) -> Row:
    row_id = f"{view.id}-{row['code']}"
    row_value = value.get(row["code"]) if isinstance(value, dict) else None
    return Row(code=row["code"], id=row_id, name=f"{view.code}.{row['code']}", text=i18n.local(row.get("text"), lang),
               choices=_scale(row_id, low, high, row_value))


def logic_json(questions: Sequence[Mapping[str, Any]]) -> str:
    """What the inline script needs to re-evaluate `show_if` as the customer answers."""
    logic = [{"code": q["code"], "type": q["type"], "show_if": q.get("show_if"),
              "options": [o["value"] for o in q.get("options", [])],
              "rows": [r["code"] for r in q.get("rows", [])]} for q in questions]
    # Safe inside <script type="application/json">: no "</" can close the element early.
    return json.dumps(logic, ensure_ascii=False).replace("</", "<\\/")


def progress(views: Sequence[QuestionView]) -> int:
    """Percent of the shown questions answered (a matrix counts once every row is)."""
    shown = [view for view in views if view.visible]
    return round(100 * sum(1 for view in shown if _answered(view)) / len(shown)) if shown else 0


def _answered(view: QuestionView) -> bool:
    if view.rows:
        return all(any(choice.checked for choice in row.choices) for row in view.rows)
    return bool(view.text_value.strip()) or any(choice.checked for choice in view.choices)
