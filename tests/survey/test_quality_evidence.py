"""EDER (issue 18 item 1): a "not fixed" answer is quality evidence. The option that means it carries
`quality_evidence: not_fixed` (the CSI template's fixed-first-time "no"); the alert it raises names the
evidence and the vehicle model and symptom codes of the visit the survey followed."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from services.survey import templates
from services.survey.jobs import run_once
from shared.db import utcnow
from tests.survey.conftest import ORGS, as_, deliver, give_consent, new_code, outbox_events

ROWS = {"initiation": ["appointment", "greeting"],
        "advisor": ["courtesy", "honesty", "knowledge", "understanding", "explaining"],
        "facility": ["cleanliness", "comfort", "amenities"],
        "pickup": ["on_time", "explanation", "payment", "cleanliness"],
        "quality": ["diagnosis", "fixed_right", "complete"]}


def csi_answers(fixed: str, score: int = 8) -> dict[str, Any]:
    return {**{code: {row: score for row in rows} for code, rows in ROWS.items()}, "fixed_first_time": fixed, "nps": 8}


async def answered_after_a_visit(client: httpx.AsyncClient, app: FastAPI, answers: dict[str, Any]) -> dict[str, Any]:
    """A closed visit of model X7 with symptoms NVH-02 and BRK-01, its CSI invitation sent and answered;
    the alert the response raised (or {} when none)."""
    customer_id, closed = uuid.uuid4(), utcnow() - timedelta(days=4)
    await give_consent(client, customer_id)
    visit = {"dealer_code": "D1", "org_path": ORGS["D1"]["path"], "visit_id": str(uuid.uuid4()), "ro_number": "RO-NF",
             "vin": "LFV3A23C7K3012345", "customer_id": str(customer_id), "visit_type": "repair",
             "closed_at": closed.isoformat(), "symptom_codes": ["NVH-02", "BRK-01"], "model": "X7"}
    assert await deliver(client, "service_visit.closed", visit) == "applied"
    await run_once(app.state.sessions, app.state.settings, now=utcnow())
    listed = await client.get("/v1/survey-invitations", params={"customer_id": str(customer_id)}, headers=as_("OEM"))
    [invitation] = listed.json()["items"]
    token = invitation["url"].rsplit("/", 1)[1]
    page = (await client.get(f"/v1/public/surveys/{token}")).json()
    # Which answer is evidence is the manufacturer's business, not the page's.
    assert not [o for q in page["questions"] for o in q["options"] if "quality_evidence" in o]
    submitted = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers})
    assert submitted.status_code == 201, submitted.text
    response_id = submitted.json()["id"]
    alerts = [a for a in await outbox_events(app, "survey.alert.raised") if a["response_id"] == response_id]
    return alerts[0] if alerts else {}


async def test_a_not_fixed_answer_raises_an_alert_naming_the_evidence_and_the_visit(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    alert = await answered_after_a_visit(client, app, csi_answers("no"))
    assert alert["priority"] == "P1" and alert["ro_number"] == "RO-NF"
    assert (alert["quality_evidence"], alert["model"], alert["symptom_codes"]) == ("not_fixed", "X7", ["NVH-02", "BRK-01"])


async def test_an_alert_on_anything_else_names_no_evidence(client: httpx.AsyncClient, app: FastAPI) -> None:
    # Fixed, but a critical score on the quality matrix: an alert, not "not fixed" evidence.
    alert = await answered_after_a_visit(client, app, csi_answers("yes", score=2))
    assert alert["priority"] == "P1"
    assert (alert["quality_evidence"], alert["model"], alert["symptom_codes"]) == (None, None, [])


async def test_the_csi_template_marks_the_fixed_first_time_no(
        client: httpx.AsyncClient) -> None:
    question = templates.template("csi").question("fixed_first_time")
    assert question is not None
    assert [(o.value, o.quality_evidence) for o in question.options] == [("yes", None), ("no", "not_fixed")]
    created = await client.post("/v1/surveys", json={"code": new_code(), "template": "csi"}, headers=as_("OEM"))
    assert created.status_code == 201, created.text
    [stored] = [q for q in created.json()["questions"] if q["code"] == "fixed_first_time"]
    assert stored["options"][1]["quality_evidence"] == "not_fixed"


async def test_quality_evidence_on_an_option_of_a_question_that_is_not_critical_is_refused(
        client: httpx.AsyncClient) -> None:
    label = {"zh-CN": "否", "en": "No"}
    body = {"code": new_code(), "kind": "custom", "title": {"zh-CN": "回访", "en": "Call"}, "questions": [
        {"code": "fixed", "type": "single_choice", "text": {"zh-CN": "修好了吗", "en": "Fixed?"},
         "options": [{"value": "yes", "label": label}, {"value": "no", "label": label, "quality_evidence": "not_fixed"}]}]}
    refused = await client.post("/v1/surveys", json=body, headers=as_("OEM"))
    assert refused.status_code == 422, refused.text
    assert {"field": "questions.0.options",
            "message": "an option that is quality evidence needs the question to be critical"} in refused.json()["errors"]
    unknown = await client.post("/v1/surveys", headers=as_("OEM"), json={
        **body, "questions": [{**body["questions"][0], "critical": {"equals": "no"},
                               "options": [{"value": "no", "label": label, "quality_evidence": "broken"}]}]})
    assert unknown.status_code == 422, unknown.text
