"""EDER evidence from every channel (issue 18 item 1): product-quality complaints, survey alerts on
"not fixed" answers and follow-up calls coded `not_fixed` count together towards a quality signal
(>= 3 pieces from >= 2 dealers in 30 days), each origin once, the signal listing its sources by kind."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaint import quality
from services.complaint.models import Complaint
from services.complaint.repository import ComplaintRepository
from shared.auth import system_principal
from shared.db import utcnow
from tests.complaint.conftest import ORGS, VIN, as_, deliver, opened, outbox_events
from tests.support.databases import postgres_base_url

pytestmark = pytest.mark.asyncio


def not_fixed_alert(dealer: str, model: str | None, symptoms: list[str], **extra: Any) -> dict[str, Any]:
    return {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "survey_id": str(uuid.uuid4()), "survey_code": "csi",
            "survey_version": 1, "kind": "csi", "customer_id": str(uuid.uuid4()), "vin": VIN, "ro_number": "RO-Q1",
            "response_id": str(uuid.uuid4()), "submitted_at": utcnow().isoformat(), "priority": "P1",
            "reasons": [{"rule": "critical_answer", "question": "fixed_first_time", "detail": "critical answer"}],
            "scores": {"index": 72.0}, "quality_evidence": "not_fixed", "model": model, "symptom_codes": symptoms,
            **extra}


def not_fixed_call(dealer: str, model: str, symptoms: list[str], codes: list[str] | None = None) -> dict[str, Any]:
    return {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "followup_id": str(uuid.uuid4()), "kind": "service",
            "customer_id": str(uuid.uuid4()), "vin": VIN, "ro_number": "RO-Q2", "issue_codes": codes or ["not_fixed"],
            "note": "The rattle is back", "found_at": utcnow().isoformat(), "model": model, "symptom_codes": symptoms}


async def signals_for(app: FastAPI, model: str) -> list[dict[str, Any]]:
    return [s for s in await outbox_events(app, "quality.signal.raised") if s["vehicle_model"] == model]


async def test_a_signal_from_one_complaint_one_not_fixed_survey_answer_and_one_follow_up_issue_at_two_dealers(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    model = f"M-{uuid.uuid4().hex[:6]}"
    complaint = await opened(client, "D1", vehicle_model=model, category="product_quality", symptom_codes=["NVH-02"])
    alert = not_fixed_alert("D1", model, ["NVH-02"])
    assert await deliver(client, "survey.alert.raised", alert) == "applied"
    assert await signals_for(app, model) == []
    call = not_fixed_call("D3", model, ["NVH-02"])
    assert await deliver(client, "followup.issue_found", call, source="/csloop/customer") == "applied"

    [signal] = await signals_for(app, model)
    assert signal["case_count"] == 3 and signal["dealer_codes"] == ["D1", "D3"] and signal["org_path"] == "/OEM/"
    listed = (await client.get("/v1/complaints", params={"dealer_code": "D1", "limit": 500}, headers=as_("D1"))).json()
    [alert_case] = [c for c in listed["items"] if c["survey_response_id"] == alert["response_id"]]
    assert (alert_case["category"], alert_case["vehicle_model"], alert_case["symptom_codes"]) == (
        "repair_quality", model, ["NVH-02"])
    calls = (await client.get("/v1/complaints", params={"dealer_code": "D3", "limit": 500}, headers=as_("D3"))).json()
    [call_case] = [c for c in calls["items"] if c["followup_id"] == call["followup_id"]]
    expected = [{"kind": "complaint", "count": 1, "complaint_ids": [complaint["id"]]},
                {"kind": "survey", "count": 1, "complaint_ids": [alert_case["id"]]},
                {"kind": "follow_up", "count": 1, "complaint_ids": [call_case["id"]]}]
    assert signal["sources"] == expected
    read = await client.get("/v1/quality-signals", params={"limit": 500}, headers=as_("OEM"))
    [listed_signal] = [s for s in read.json()["items"] if s["vehicle_model"] == model]
    assert listed_signal["sources"] == expected and listed_signal["case_count"] == 3

    # Once per group and window: a fourth piece of evidence raises nothing new.
    assert await deliver(client, "survey.alert.raised", not_fixed_alert("D2", model, ["NVH-02"])) == "applied"
    assert len(await signals_for(app, model)) == 1


async def test_an_alert_and_a_call_count_once_however_often_they_arrive(client: httpx.AsyncClient, app: FastAPI) -> None:
    model = f"M-{uuid.uuid4().hex[:6]}"
    alert, call = not_fixed_alert("D1", model, ["BRK-01"]), not_fixed_call("D3", model, ["BRK-01"])
    for _ in range(3):
        assert await deliver(client, "survey.alert.raised", alert) == "applied"  # new event ids, one origin
        assert await deliver(client, "followup.issue_found", call, source="/csloop/customer") == "applied"
    assert await signals_for(app, model) == []  # two origins, below three pieces of evidence


async def test_alerts_and_calls_that_are_not_not_fixed_evidence_count_nothing(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    model = f"M-{uuid.uuid4().hex[:6]}"
    await opened(client, "D1", vehicle_model=model, category="product_quality", symptom_codes=["ELE-03"])
    # A low score that is not a "not fixed" answer, and a call that found a price issue, name the
    # visit's model and symptoms yet are no quality evidence.
    low_score = not_fixed_alert("D2", model, ["ELE-03"], quality_evidence=None, priority="P3")
    assert await deliver(client, "survey.alert.raised", low_score) == "applied"
    price = not_fixed_call("D3", model, ["ELE-03"], codes=["price"])
    assert await deliver(client, "followup.issue_found", price, source="/csloop/customer") == "applied"
    # Evidence without a model (a survey that followed no known visit) has no group either.
    assert await deliver(client, "survey.alert.raised", not_fixed_alert("D3", None, [])) == "applied"
    assert await signals_for(app, model) == []
    listed = (await client.get("/v1/complaints", params={"dealer_code": "D2", "limit": 500}, headers=as_("D2"))).json()
    [case] = [c for c in listed["items"] if c["survey_response_id"] == low_score["response_id"]]
    assert (case["category"], case["vehicle_model"], case["symptom_codes"]) == ("other", None, [])


@pytest.mark.skipif(not postgres_base_url(), reason="concurrent transactions: one writer at a time on SQLite")
async def test_two_pieces_of_evidence_arriving_at_once_still_raise_the_signal_they_make_together(
        client: httpx.AsyncClient, app: FastAPI) -> None:
    """Two requests (or replicas) each add their case to a group of one: three pieces from two
    dealers. Counted each without the other's uncommitted row, neither would raise the signal."""
    model = f"M-{uuid.uuid4().hex[:6]}"
    await opened(client, "D1", vehicle_model=model, category="product_quality", symptom_codes=["BRK-09"])
    second = await opened(client, "D3", vehicle_model=model, category="other", symptom_codes=["BRK-09"])
    third = await opened(client, "D3", vehicle_model=model, category="other", symptom_codes=["BRK-09"])
    settings, now = app.state.settings, utcnow()

    async def evidence(case_id: str, session: AsyncSession) -> None:
        repo = ComplaintRepository(session, system_principal())
        case = await session.get(Complaint, uuid.UUID(case_id))
        assert case is not None
        case.category = "product_quality"  # now evidence, as a case opened so would be
        await quality.check(repo, settings, case, now)

    async with app.state.sessions() as first_session, app.state.sessions() as other_session:
        await evidence(second["id"], first_session)  # added and counted, not committed yet
        other = asyncio.create_task(evidence(third["id"], other_session))
        await asyncio.sleep(0.5)  # the other adds its row meanwhile (or waits for the group)
        await first_session.commit()
        await other
        await other_session.commit()
    [signal] = await signals_for(app, model)
    assert signal["case_count"] == 3 and signal["dealer_codes"] == ["D1", "D3"]
