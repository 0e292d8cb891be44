"""CSV export of responses: one row per response, scores unrounded-then-one-decimal like the API.

A spreadsheet runs a cell that starts with =, +, - or @ as a formula (CSV injection), and
customers type free text. Every text cell that starts with one of those, or with a tab or
carriage return, gets a leading apostrophe. Numbers this service computed are left alone,
so a negative SERVQUAL gap stays a number.
"""

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from services.survey.definition import Definition
from services.survey.models import SurveyResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BASE_COLUMNS = ["response_id", "survey_id", "survey_version", "kind", "dealer_code", "customer_id", "vin",
                "ro_number", "submitted_at", "index", "nps_score", "nps_category"]


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def columns(definition: Definition | None) -> tuple[list[str], list[str]]:
    """(factor codes, answer columns): per question, or per matrix row as `code.row`, of one survey."""
    if definition is None:
        return [], []
    answers: list[str] = []
    for question in definition.questions:
        answers += [f"{question.code}.{row.code}" for row in question.rows] if question.type == "matrix" else [question.code]
    return [factor.code for factor in definition.factors], answers


def header(factors: list[str], answers: list[str]) -> list[str]:
    return BASE_COLUMNS + [f"factor:{code}" for code in factors] + [f"answer:{ref}" for ref in answers]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _answer(answers: dict[str, Any], ref: str) -> Any:
    code, _, row = ref.partition(".")
    value = answers.get(code)
    if row:
        value = value.get(row) if isinstance(value, dict) else None
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def row(response: SurveyResponse, factors: list[str], answers: list[str]) -> list[Any]:
    scores = response.scores
    values: list[Any] = [
        str(response.id), str(response.survey_id), response.survey_version, response.kind,
        neutralise(response.dealer_code), str(response.customer_id or ""), neutralise(response.vin or ""),
        neutralise(response.ro_number or ""), response.created_at.isoformat(), _number(scores.get("index")),
        "" if scores.get("nps_score") is None else scores["nps_score"], scores.get("nps_category") or "",
    ]
    values += [_number(scores.get("factors", {}).get(code)) for code in factors]
    values += [neutralise(_answer(response.answers, ref)) for ref in answers]
    return values


def encode(rows: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


async def stream(responses: AsyncIterator[SurveyResponse], definition: Definition | None) -> AsyncIterator[str]:
    factors, answers = columns(definition)
    yield "\ufeff" + encode([header(factors, answers)])  # the BOM makes Excel read UTF-8 (Chinese) right
    batch: list[list[Any]] = []
    async for response in responses:
        batch.append(row(response, factors, answers))
        if len(batch) >= 500:
            yield encode(batch)
            batch = []
    if batch:
        yield encode(batch)


FLAGGED_COLUMNS = ["flags", "duration_seconds"]


def flagged(responses: list[SurveyResponse]) -> str:
    """The review team's CSV of flagged responses: the base columns, the flags and the answer time."""
    rows = [BASE_COLUMNS + FLAGGED_COLUMNS]
    rows += [row(response, [], []) + [" ".join(response.integrity_flags), _number(response.duration_seconds)]
             for response in responses]
    return "\ufeff" + encode(rows)
