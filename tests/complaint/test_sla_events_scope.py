"""SLA policies and the breach job, escalation, consumed events, quality signals, and who sees what."""

import uuid
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from services.complaint.sla.business_hours import Calendar, add_business_time
from services.complaint.jobs import run_once
from shared.db import utcnow
from tests.complaint.conftest import ORGS, VIN, as_, deliver, move, open_case, opened, outbox_events

CALENDAR = {"timezone": "Asia/Shanghai", "weekdays": {d: ["08:30", "17:30"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-10-01"]}


def _alert(response_id: uuid.UUID, priority: str = "P2", submitted_at: datetime | None = None) -> dict:
    return {"dealer_code": "D1", "org_path": ORGS["D1"]["path"], "survey_id": str(uuid.uuid4()), "survey_code": "csi",
            "survey_version": 1, "kind": "csi", "customer_id": str(uuid.uuid4()), "vin": VIN, "ro_number": "RO-9",
            "response_id": str(response_id), "submitted_at": (submitted_at or utcnow()).isoformat(), "priority": priority,
            "reasons": [{"rule": "index_below", "detail": "CSI index 41.0 below 60"}], "scores": {"index": 41.0}}


class TestPolicies:
    async def test_defaults_then_a_dealer_policy_with_business_hours_governs_new_cases(
            self, client: httpx.AsyncClient) -> None:
        defaults = (await client.get("/v1/complaint-sla-policies", headers=as_("D3"))).json()
        assert defaults["items"][0] == {"priority": "P1", "first_response_hours": 2, "resolution_hours": 24,
                                        "calendar": None, "source": "default"}
        put = await client.put("/v1/complaint-sla-policies", headers=as_("DS"), json={
            "dealer_code": "D3", "policies": [{"priority": "P4", "first_response_hours": 4, "resolution_hours": 18,
                                               "calendar": CALENDAR}]})
        assert put.status_code == 200, put.text
        assert put.json()["items"][3]["source"] == "/OEM/DS/D3/"
        case = await opened(client, "D3", priority="P4")
        opened_at, calendar = datetime.fromisoformat(case["opened_at"]), Calendar.model_validate(CALENDAR)
        assert datetime.fromisoformat(case["first_response_due"]) == add_business_time(opened_at, timedelta(hours=4), calendar)
        assert datetime.fromisoformat(case["resolution_due"]) == add_business_time(opened_at, timedelta(hours=18), calendar)

    async def test_dealers_do_not_set_their_own_sla_and_bad_calendars_are_422(self, client: httpx.AsyncClient) -> None:
        body = {"policies": [{"priority": "P1", "first_response_hours": 100, "resolution_hours": 900}]}
        assert (await client.put("/v1/complaint-sla-policies", json=body, headers=as_("D1"))).status_code == 403
        bad = {"policies": [{"priority": "P1", "first_response_hours": 1, "resolution_hours": 2,
                             "calendar": {"timezone": "Nowhere/City", "weekdays": {"mon": ["08:00", "17:00"]}}}]}
        assert (await client.put("/v1/complaint-sla-policies", json=bad, headers=as_("OEM"))).status_code == 422


class TestBreachJob:
    async def test_breach_reported_once_and_case_escalated_one_level(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        case = await opened(client, "D2", priority="P3")
        later = datetime.fromisoformat(case["first_response_due"]) + timedelta(minutes=1)
        await run_once(app.state.sessions, app.state.directory, later)
        await run_once(app.state.sessions, app.state.directory, later)
        breaches = [e for e in await outbox_events(app, "complaint.sla_breached") if e["complaint_id"] == case["id"]]
        assert [e["kind"] for e in breaches] == ["first_response"]
        now = (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D2"))).json()
        assert now["breached"] is True and now["handling_org_code"] == "DN" and now["escalation_level"] == 1
        assert [e["kind"] for e in now["timeline"]] == ["opened", "sla_breached", "escalated"]
        assert now["timeline"][-1]["data"]["trigger"] == "sla_breach"
        listed = await client.get("/v1/complaints", params={"breached": "true", "dealer_code": "D2"}, headers=as_("DN"))
        assert case["id"] in [item["id"] for item in listed.json()["items"]]

    async def test_a_waiting_case_is_not_overdue_for_resolution(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        case = await opened(client, "D2", priority="P4")
        for step in ("acknowledged", "in_progress", "awaiting_customer"):
            assert (await move(client, case, step, caller="D2")).status_code == 200
        await run_once(app.state.sessions, app.state.directory, utcnow() + timedelta(days=30))
        assert not [e for e in await outbox_events(app, "complaint.sla_breached") if e["complaint_id"] == case["id"]]


class TestEscalation:
    async def test_p1_goes_to_the_distributor_at_once_and_manual_escalation_reaches_the_top(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        case = await opened(client, priority="P1")
        assert case["handling_org_code"] == "DN" and case["timeline"][-1]["kind"] == "escalated"
        url = f"/v1/complaints/{case['id']}/escalate"
        up = await client.post(url, json={"reason": "Customer threatens the media"}, headers=as_("DN", if_match='"v1"'))
        assert up.status_code == 200 and up.json()["handling_org_code"] == "OEM"
        assert up.json()["timeline"][-1]["actor"] == {"subject": "user-DN", "org_code": "DN"}
        top = await client.post(url, json={"reason": "again"}, headers=as_("OEM", if_match=up.headers["ETag"]))
        assert top.status_code == 409
        sent = [e for e in await outbox_events(app, "complaint.escalated") if e["complaint_id"] == case["id"]]
        assert [(e["trigger"], e["to_org_code"]) for e in sent] == [("priority", "DN"), ("manual", "OEM")]


class TestVisibility:
    async def test_escalated_case_is_seen_and_handled_by_the_distributor_never_by_a_sibling(
            self, client: httpx.AsyncClient) -> None:
        case = await opened(client, "D1")
        escalated = await client.post(f"/v1/complaints/{case['id']}/escalate", json={"reason": "Dealer stuck"},
                                      headers=as_("D1", if_match='"v1"'))
        assert escalated.status_code == 200
        url = f"/v1/complaints/{case['id']}"
        assert (await client.get(url, headers=as_("D2"))).status_code == 404
        assert (await client.get(url, headers=as_("DS"))).status_code == 404
        sibling = await client.post(f"{url}/comments", json={"text": "peek"}, headers=as_("D2", if_match='"v2"'))
        assert sibling.status_code == 404
        listed = await client.get("/v1/complaints", params={"customer_id": case["customer_id"]}, headers=as_("D2"))
        assert listed.json()["items"] == []
        case = (await client.get(url, headers=as_("DN"))).json()
        assert (await move(client, case, "acknowledged", caller="DN")).status_code == 200
        assert case["timeline"][-1]["actor"]["org_code"] == "DN"

    async def test_scopes_are_required(self, client: httpx.AsyncClient) -> None:
        reader = frozenset({"complaints:read"})
        answer = await open_case(client, "D1")
        assert answer.status_code == 201
        refused = await client.post("/v1/complaints", json={}, headers=as_("D1", reader))
        assert refused.status_code == 403
        assert (await client.get("/v1/complaints")).status_code == 401


class TestConsumedEvents:
    async def test_an_alert_delivered_twice_or_republished_opens_one_case(self, client: httpx.AsyncClient) -> None:
        response_id, event_id = uuid.uuid4(), str(uuid.uuid4())
        assert await deliver(client, "survey.alert.raised", _alert(response_id), event_id=event_id) == "applied"
        assert await deliver(client, "survey.alert.raised", _alert(response_id), event_id=event_id) == "duplicate"
        assert await deliver(client, "survey.alert.raised", _alert(response_id)) == "applied"
        listed = await client.get("/v1/complaints", params={"status": "new", "dealer_code": "D1", "limit": 500},
                                  headers=as_("D1"))
        cases = [c for c in listed.json()["items"] if c["survey_response_id"] == str(response_id)]
        assert len(cases) == 1
        assert cases[0]["channel"] == "survey_alert" and cases[0]["priority"] == "P2" and cases[0]["category"] == "other"
        assert cases[0]["ro_number"] == "RO-9" and "CSI index 41.0" in cases[0]["description"]

    async def test_an_alert_on_a_response_from_months_ago_opens_no_case(self, client: httpx.AsyncClient) -> None:
        response_id = uuid.uuid4()
        old = _alert(response_id, submitted_at=utcnow() - timedelta(days=90))
        assert await deliver(client, "survey.alert.raised", old) == "applied"
        listed = await client.get("/v1/complaints", params={"dealer_code": "D1", "limit": 500}, headers=as_("D1"))
        assert not [c for c in listed.json()["items"] if c["survey_response_id"] == str(response_id)]

    async def test_a_case_from_a_flagged_response_says_it_is_under_review_until_reviewed(
            self, client: httpx.AsyncClient) -> None:
        flagged, clean = uuid.uuid4(), uuid.uuid4()
        integrity = {"status": "flagged", "flags": ["straight_line"]}
        assert await deliver(client, "survey.alert.raised", {**_alert(flagged), "integrity": integrity}) == "applied"
        assert await deliver(client, "survey.alert.raised", _alert(clean)) == "applied"

        async def case_of(response_id: uuid.UUID) -> dict:
            listed = await client.get("/v1/complaints", params={"dealer_code": "D1", "limit": 500}, headers=as_("D1"))
            [case] = [c for c in listed.json()["items"] if c["survey_response_id"] == str(response_id)]
            return case

        assert (await case_of(flagged))["response_under_review"] is True
        assert (await case_of(clean))["response_under_review"] is False
        reviewed = {key: value for key, value in _alert(flagged).items() if key not in ("reasons", "priority", "scores")}
        reviewed |= {"integrity": {"status": "valid", "flags": ["straight_line"]}, "reviewed_at": utcnow().isoformat()}
        assert await deliver(client, "survey.response.reviewed", reviewed, source="/csloop/survey") == "applied"
        assert (await case_of(flagged))["response_under_review"] is False
        # A flag raised later on the clean one's response (a third copy of its text) puts its case under review.
        later = {**reviewed, "response_id": str(clean), "integrity": {"status": "flagged", "flags": ["duplicate_text"]},
                 "reviewed_at": None}
        assert await deliver(client, "survey.response.flagged", later, source="/csloop/survey") == "applied"
        assert (await case_of(clean))["response_under_review"] is True

    async def test_customer_erased_keeps_the_case_without_the_person(self, client: httpx.AsyncClient) -> None:
        case = await opened(client, description="Mr Zhang, 138 0013 8000, is furious")
        comment = await client.post(f"/v1/complaints/{case['id']}/comments", json={"text": "Mr Zhang called back"},
                                    headers=as_("D1", if_match='"v1"'))
        assert comment.status_code == 201
        erased = {"dealer_code": "D1", "org_path": ORGS["D1"]["path"], "customer_id": case["customer_id"],
                  "erased_at": utcnow().isoformat()}
        assert await deliver(client, "customer.erased", erased, source="/csloop/customer") == "applied"
        now = (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D1"))).json()
        assert now["customer_id"] is None and now["vin"] is None and now["description"] == ""
        assert now["number"] == case["number"] and now["category"] == case["category"]
        assert "Mr Zhang" not in str(now["timeline"]) and now["timeline"][-1]["kind"] == "customer_erased"


class TestQualitySignals:
    async def test_three_cases_from_two_dealers_raise_one_signal_for_the_manufacturer(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        model, quality = f"M-{uuid.uuid4().hex[:6]}", {"category": "product_quality", "symptom_codes": ["NVH-01"]}
        await opened(client, "D1", vehicle_model=model, **quality)
        await opened(client, "D1", vehicle_model=model, **quality)
        assert not [s for s in await outbox_events(app, "quality.signal.raised") if s["vehicle_model"] == model]
        third = await opened(client, "D3", vehicle_model=model, **quality)
        await opened(client, "D2", vehicle_model=model, **quality)
        signals = [s for s in await outbox_events(app, "quality.signal.raised") if s["vehicle_model"] == model]
        assert len(signals) == 1
        assert signals[0]["case_count"] == 3 and signals[0]["dealer_codes"] == ["D1", "D3"]
        assert signals[0]["org_path"] == "/OEM/" and third["id"] in signals[0]["complaint_ids"]
        seen = await client.get("/v1/quality-signals", params={"limit": 500}, headers=as_("OEM"))
        assert [s["symptom_code"] for s in seen.json()["items"] if s["vehicle_model"] == model] == ["NVH-01"]
        hidden = await client.get("/v1/quality-signals", params={"limit": 500}, headers=as_("DN"))
        assert not [s for s in hidden.json()["items"] if s["vehicle_model"] == model]
