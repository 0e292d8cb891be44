"""Which alert rules a response breaks, and the complaint priority it suggests.

Priorities follow the complaint service's P1..P4: a critical answer is P1 (a safety or
"not fixed" answer needs a call today), two or more reasons P2, one reason P3.
"""

from typing import Any

from services.survey.definition import Definition
from shared.contracts import conditions


def reasons(definition: Definition, answers: dict[str, Any], scores: dict[str, Any]) -> list[dict[str, Any]]:
    rules = definition.alert_rules
    found: list[dict[str, Any]] = []
    index = scores.get("index")
    if rules.index_below is not None and index is not None and index < rules.index_below:
        found.append({"rule": "index_below", "detail": f"index {index:.1f} is below {rules.index_below:g}"})
    if rules.nps_detractor and scores.get("nps_category") == "detractor":
        found.append({"rule": "nps_detractor", "detail": f"NPS answer {scores['nps_score']} (detractor)"})
    if rules.critical_answers:
        found += [{"rule": "critical_answer", "question": ref, "detail": f"critical answer to {ref}"}
                  for ref in critical_refs(definition, answers)]
    return found


def critical_refs(definition: Definition, answers: dict[str, Any]) -> list[str]:
    """The questions (or matrix rows, as `code.row`) whose answer matches their `critical` condition."""
    refs: list[str] = []
    for question in definition.questions:
        if question.critical is None or answers.get(question.code) is None:
            continue
        targets = [f"{question.code}.{row.code}" for row in question.rows] if question.type == "matrix" else [question.code]
        refs += [ref for ref in targets if conditions.evaluate({**question.critical, "question": ref}, answers)]
    return refs


def priority(found: list[dict[str, Any]]) -> str | None:
    if not found:
        return None
    if any(reason["rule"] == "critical_answer" for reason in found):
        return "P1"
    return "P2" if len(found) > 1 else "P3"
