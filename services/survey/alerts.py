"""Which alert rules a response breaks, the complaint priority it suggests, and its quality evidence.

Priorities follow the complaint service's P1..P4: a critical answer is P1 (a safety or
"not fixed" answer needs a call today), two or more reasons P2, one reason P3.

EDER: a critical answer that chose an option marked `quality_evidence` (the CSI template's
fixed-first-time "no") keeps that mark on its reason; the alert then names the evidence and the
model and symptom codes of the visit the survey followed, so the complaint service counts it
towards quality signals.
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
        found += [{"rule": "critical_answer", "question": ref, "detail": f"critical answer to {ref}",
                   **_evidence_of(definition, ref, answers)} for ref in critical_refs(definition, answers)]
    return found


def _evidence_of(definition: Definition, ref: str, answers: dict[str, Any]) -> dict[str, str]:
    """{"quality_evidence": kind} when the answer to question `ref` chose an option marked as evidence."""
    question = definition.question(ref)
    if question is None:  # a matrix row: rated, no options
        return {}
    chosen = answers.get(ref)
    chosen = chosen if isinstance(chosen, list) else [chosen]
    kinds = [option.quality_evidence for option in question.options if option.quality_evidence and option.value in chosen]
    return {"quality_evidence": kinds[0]} if kinds else {}


def visit_columns(row: Any) -> dict[str, Any]:
    """The visit's model and symptom codes a response copies from its claimed invitation."""
    return {"vehicle_model": row.vehicle_model, "symptom_codes": row.symptom_codes}


def evidence(response: Any) -> dict[str, Any]:
    """The alert payload's quality evidence: its kind, and the visit's model and symptom codes."""
    kind = next((reason["quality_evidence"] for reason in response.alerts if reason.get("quality_evidence")), None)
    if kind is None:
        return {}
    return {"quality_evidence": kind, "model": response.vehicle_model, "symptom_codes": response.symptom_codes or []}


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
