"""KPIs over windows of records: FIR, retention, penetration, complaints, follow-ups, alerts; rebuild."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.kpi.conftest import FED, ORGS, SECRET, as_, deliver, deliver_vehicle, respond, summary, visit
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal

V1, V2, V3, V4 = "LFV3A23C7K3000001", "LFV3A23C7K3000002", "LFV3A23C7K3000003", "LFV3A23C7K3000004"


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class TestFirstTimeFix:
    async def test_a_repeat_at_exactly_thirty_days_fails_the_fix_at_thirty_one_it_does_not(self, client):
        await visit(client, "D1", V1, t(2050, 3, 1, 10))
        await visit(client, "D1", V1, t(2050, 3, 31, 12), opened=t(2050, 3, 31, 10))  # opened exactly 30 days later
        await visit(client, "D1", V2, t(2050, 3, 1, 10))
        await visit(client, "D2", V2, t(2050, 4, 1, 12), opened=t(2050, 4, 1, 10))  # 31 days later, another dealer
        await visit(client, "D1", V3, t(2050, 3, 2, 10))
        await visit(client, "D1", V3, t(2050, 3, 5, 12), symptoms=("OTHER",))  # no shared symptom: both fixed
        await visit(client, "D1", V4, t(2050, 3, 3, 10), type_="maintenance")  # not a repair: not counted
        fir = (await summary(client, "D1", "2050-03"))["fir"]
        # V1 first visit failed; its repeat, V2, both V3 visits were fixed: 4 of 5.
        assert (fir["value"], fir["n"]) == (80.0, 5)
        assert (await summary(client, "D2", "2050-04"))["fir"]["value"] == 100.0

    async def test_a_repeat_elsewhere_fails_the_fix_only_when_its_customer_is_the_owner_on_record(self, client):
        await visit(client, "D1", V1, t(2064, 3, 1, 10))
        await visit(client, "D3", V1, t(2064, 3, 5, 12), owner_verified=False)  # another network, not the owner
        await visit(client, "D1", V2, t(2064, 3, 1, 10))
        await visit(client, "D2", V2, t(2064, 3, 6, 12), owner_verified=True)  # the owner came back elsewhere
        await visit(client, "D1", V3, t(2064, 3, 1, 10))
        await visit(client, "D1", V3, t(2064, 3, 7, 12), owner_verified=False)  # the same dealer: always counts
        # V1 fixed, V2 and the first V3 failed, the V3 repeat itself fixed: 2 of 4.
        assert (await summary(client, "D1", "2064-03"))["fir"] == {"value": 50.0, "n": 4, "n_excluded": 0, "target": None, "met": None}
        held = await client.get("/v1/kpi/fir-held-out", params={"period": "2064-03"}, headers=as_("OEM"))
        [item] = held.json()["items"]
        assert (item["org_code"], item["vin"], [f["org_code"] for f in item["held_out_of"]]) == ("D3", V1, ["D1"])
        assert (await client.get("/v1/kpi/fir-held-out", params={"period": "2064-03", "org_code": "D1"},
                                 headers=as_("OEM"))).json()["items"] == []

    async def test_complaint_rate_counts_complaints_per_hundred_visits(self, client):
        assert (await summary(client, "DN", "2050-03"))["complaint_rate"] == {"value": 0.0, "n": 6, "n_excluded": 0, "target": None,
                                                                              "met": None}


class TestRetentionAndPenetration:
    async def test_retention_year_edges(self, client):
        await visit(client, "D3", V1, t(2052, 12, 31, 23, 59))
        await visit(client, "D3", V1, t(2053, 6, 1))  # retained
        await visit(client, "D3", V2, t(2052, 1, 1, 0, 0))  # Y-1 only
        await visit(client, "D3", V3, t(2051, 12, 31, 23, 59))  # before Y-1: not in the base
        await visit(client, "D3", V3, t(2053, 2, 1))
        await visit(client, "D3", V4, t(2052, 5, 1))
        await visit(client, "D3", V4, t(2054, 1, 1, 0, 0))  # after Y: not retained in 2053
        kpis = await summary(client, "DS", "2053")
        assert (kpis["retention"]["value"], kpis["retention"]["n"]) == (33.3, 3)
        # 2054: V1 and V3 came in 2053, neither in 2054 (V4's visit at 2054-01-01 00:00 was not in 2053).
        assert (await summary(client, "DS", "2054"))["retention"] == {"value": 0.0, "n": 2, "n_excluded": 0, "target": None, "met": None}

    async def test_penetration_over_units_delivered_in_eleven_years(self, client):
        await deliver_vehicle(client, "D3", V1, t(2045, 1, 1))  # UIO for 2055 (11 years: from 2045-01-01)
        await deliver_vehicle(client, "D3", V2, t(2044, 12, 31, 23))  # too old for 2055
        await deliver_vehicle(client, "D3", V3, t(2055, 6, 1))
        await deliver_vehicle(client, "D3", V4, t(2055, 7, 1))
        await visit(client, "D3", V1, t(2055, 8, 1), type_="maintenance")
        penetration = (await summary(client, "D3", "2055"))["service_penetration"]
        assert (penetration["value"], penetration["n"]) == (33.3, 3)


def _case(dealer: str, opened: datetime, **extra: Any) -> dict[str, Any]:
    return {"complaint_id": str(uuid.uuid4()), "number": "CMP-1", "dealer_code": dealer,
            "org_path": ORGS[dealer]["path"], "handling_org_code": dealer, "escalation_level": 0,
            "channel": "hotline", "category": "repair_quality", "priority": "P3", "status": "new", "is_open": True,
            "opened_at": opened.isoformat(), "first_responded_at": None, "resolved_at": None,
            "first_response_due": (opened + timedelta(hours=4)).isoformat(),
            "resolution_due": (opened + timedelta(hours=48)).isoformat(), **extra}


async def _move(client, case: dict[str, Any], to: str, when: datetime) -> None:
    """complaint.status_changed as the complaint service publishes it: acknowledging is the first response."""
    from_status = case["status"]
    case.update(status=to, is_open=to not in ("resolved", "closed"),
                resolved_at=when.isoformat() if to == "resolved" else case.get("resolved_at"),
                first_responded_at=when.isoformat() if to == "acknowledged" else case["first_responded_at"])
    await deliver(client, "complaint.status_changed", {**case, "from_status": from_status, "to_status": to,
                                                       "changed_at": when.isoformat()})


class TestComplaints:
    async def test_mttr_sla_alert_closure_and_counts(self, client):
        opened = t(2060, 5, 4, 9)
        fast = _case("D1", opened, channel="survey_alert", survey_response_id=str(uuid.uuid4()))
        slow = _case("D1", opened, category="price_billing")
        await deliver(client, "survey.alert.raised", {
            "dealer_code": "D1", "org_path": ORGS["D1"]["path"], "survey_id": str(uuid.uuid4()), "survey_code": "CSI",
            "survey_version": 1, "kind": "csi", "response_id": fast["survey_response_id"],
            "submitted_at": opened.isoformat(), "reasons": [], "priority": "P2", "scores": {}})
        for case in (fast, slow):
            await deliver(client, "complaint.opened", case)
        await _move(client, fast, "acknowledged", opened + timedelta(hours=1))
        await _move(client, fast, "in_progress", opened + timedelta(hours=2))
        await _move(client, fast, "resolved", opened + timedelta(hours=10))
        await _move(client, slow, "acknowledged", opened + timedelta(hours=5))
        await deliver(client, "complaint.sla_breached", {**slow, "kind": "first_response",
                                                         "due_at": slow["first_response_due"],
                                                         "detected_at": (opened + timedelta(hours=4)).isoformat()})
        await _move(client, slow, "in_progress", opened + timedelta(hours=6))
        await _move(client, slow, "resolved", opened + timedelta(hours=30))
        kpis = await summary(client, "OEM", "2060-05")
        assert (kpis["mttr_hours"]["value"], kpis["mttr_hours"]["n"]) == (20.0, 2)
        assert (kpis["sla_first_response"]["value"], kpis["sla_first_response"]["n"]) == (50.0, 2)
        assert (kpis["sla_resolution"]["value"], kpis["sla_resolution"]["n"]) == (100.0, 2)
        assert (kpis["alert_closure"]["value"], kpis["alert_closure"]["n"]) == (100.0, 1)
        counts = (await client.get("/v1/kpi/complaints", params={"period": "2060-05"}, headers=as_("D1"))).json()
        assert counts == {"org_code": "D1", "period": "2060-05", "opened": 2, "open": 0, "breached": 1,
                          "by_category": {"price_billing": 1, "repair_quality": 1}}

    async def test_time_waiting_on_the_customer_moves_the_resolution_due_time(self, client):
        opened = t(2063, 3, 2, 9)
        case = _case("D3", opened)  # resolution due 48 h after opening
        await deliver(client, "complaint.opened", case)
        await _move(client, case, "acknowledged", opened + timedelta(hours=1))
        case["resolution_due"] = (opened + timedelta(hours=72)).isoformat()  # a day waiting on the customer
        await _move(client, case, "resolved", opened + timedelta(hours=60))
        sla = (await summary(client, "D3", "2063-03"))["sla_resolution"]
        assert (sla["value"], sla["n"]) == (100.0, 1)

    async def test_open_cases_and_first_responses_are_as_the_complaint_service_says(self, client):
        opened = t(2066, 4, 6, 9)
        waiting, done, triaged = (_case("D2", opened) for _ in range(3))
        for case in (waiting, done, triaged):
            await deliver(client, "complaint.opened", case)
        await _move(client, waiting, "acknowledged", opened + timedelta(hours=1))
        for step, hours in (("acknowledged", 1), ("in_progress", 2), ("resolved", 5)):
            await _move(client, done, step, opened + timedelta(hours=hours))
        # A state the KPI service keeps no list of: leaving "new" for it is no first response,
        # and the case is open, because the complaint service's event says so.
        await deliver(client, "complaint.status_changed", {**triaged, "from_status": "new", "status": "triaged",
                                                           "to_status": "triaged",
                                                           "changed_at": (opened + timedelta(hours=2)).isoformat()})
        counts = (await client.get("/v1/kpi/complaints", params={"period": "2066-04"}, headers=as_("D2"))).json()
        assert (counts["opened"], counts["open"]) == (3, 2)
        answered = (await summary(client, "D2", "2066-04"))["sla_first_response"]
        assert (answered["value"], answered["n"]) == (100.0, 2)

    async def test_followups_on_time_by_their_due_time(self, client):
        due = t(2001, 2, 3, 12)  # long past: a task never done counts against
        ids = [str(uuid.uuid4()) for _ in range(3)]
        for followup_id in ids:
            await deliver(client, "followup.scheduled", {"followup_id": followup_id, "dealer_code": "D2", "kind": "service",
                                                         "org_path": ORGS["D2"]["path"], "due_at": due.isoformat()})
        for followup_id, done in zip(ids[:2], (due, due + timedelta(seconds=1)), strict=True):
            await deliver(client, "followup.completed", {
                "followup_id": followup_id, "dealer_code": "D2", "org_path": ORGS["D2"]["path"], "kind": "service",
                "outcome": "reached", "completed_at": done.isoformat()})
        followup = (await summary(client, "DN", "2001-02"))["followup_on_time"]
        assert (followup["value"], followup["n"]) == (33.3, 3)  # on time exactly at due; late; never done


class TestRebuild:
    async def test_rebuilt_figures_equal_the_incremental_ones(self, client):
        await respond(client, "D2", t(2062, 1, 5), 64.2, nps="passive", factors={"a": 60.0, "b": 70.0})
        orgs_periods = [(org, period) for org in ("OEM", "DN", "D1", "D2", "DS", "D3")
                        for period in ("2040", "2044", "2046", "2050-03", "2053", "2054", "2055", "2060-05", "2001-02",
                                       "2062", "2063-03", "2064-03", "2066-04")]
        before = [await summary(client, org, period) for org, period in orgs_periods]
        token = mint_internal_token(system_principal(), SECRET)
        answer = await client.post("/internal/kpi/rebuild", headers={INTERNAL_HEADER: token})
        assert answer.status_code == 200, answer.text
        assert answer.json()["rebuilt"]["visits"] >= 15 and answer.json()["rebuilt"]["complaints"] == len(FED.kinds["complaints"])
        assert [await summary(client, org, period) for org, period in orgs_periods] == before
        assert (await client.post("/internal/kpi/rebuild", headers=as_("OEM"))).status_code == 403
