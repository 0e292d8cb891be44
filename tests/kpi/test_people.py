"""People scorecards and department figures (issue 15 item 2; KPI.md, People KPIs), against
hand-computed figures: csi and nps of CSI surveys to the advisor and the technician, ssi and nps of
SSI surveys to the sales consultant, fir to the repair order's advisor and technician, the
follow-up KPIs to the assignee (lower is better for the dissatisfied rate); ranked among the same
role by the pessimistic end of the 95% interval, never below the minimum n (10).

The tree: OEM > DN > (D1, D2), OEM > DS > D3. Each test its own year, and staff codes of its own
(the staff records are not per year).

Intervals by hand: a mean's is mean +- t(n-1) x sqrt(max(s^2, pooled s^2 of the role) / n), t from
Student's table (9 df: 2.262, 11: 2.201, 21: 2.080); a share's is Wilson's with z = 1.96.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.kpi.conftest import ORGS, as_, deliver


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def staff(client: httpx.AsyncClient, dealer: str, code: str, name: str, role: str) -> None:
    await deliver(client, "staff.changed", {"dealer_code": dealer, "org_path": ORGS[dealer]["path"],
                                            "staff_id": str(uuid.uuid4()), "code": code, "name": name, "role": role,
                                            "active": True, "version": 1})


async def respond(client: httpx.AsyncClient, dealer: str, at: datetime, index: float, *, kind: str = "csi",
                  nps: str | None = None, **people: str) -> None:
    await deliver(client, "survey.response.submitted", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "survey_id": str(uuid.uuid4()),
        "survey_code": kind.upper(), "survey_version": 1, "kind": kind, "response_id": str(uuid.uuid4()),
        "invitation_id": str(uuid.uuid4()), "submitted_at": at.isoformat(), "staff": people or None,
        "scores": {"index": index, "factors": {}, "nps_category": nps}})


async def visit(client: httpx.AsyncClient, dealer: str, vin: str, closed: datetime, symptom: str, **people: str) -> None:
    await deliver(client, "service_visit.closed", {
        "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "visit_id": str(uuid.uuid4()), "ro_number": "RO-7",
        "vin": vin, "customer_id": str(uuid.uuid4()), "visit_type": "repair",
        "opened_at": (closed - timedelta(hours=3)).isoformat(), "closed_at": closed.isoformat(),
        "symptom_codes": [symptom], "owner_verified": True, **people})


async def call(client: httpx.AsyncClient, dealer: str, due: datetime, assignee: str, satisfaction: str) -> None:
    """A service follow-up, done by a reached call an hour before it was due."""
    common = {"followup_id": str(uuid.uuid4()), "dealer_code": dealer, "org_path": ORGS[dealer]["path"], "kind": "service"}
    await deliver(client, "followup.scheduled", {**common, "due_at": due.isoformat()})
    await deliver(client, "followup.completed", {
        **common, "outcome": "reached", "completed_at": (due - timedelta(hours=1)).isoformat(), "due_at": due.isoformat(),
        "assignee": assignee, "attempts": 1, "reached": True, "satisfaction": satisfaction})


async def people(client: httpx.AsyncClient, caller: str = "OEM", **params: str) -> dict[str, Any]:
    answer = await client.get("/v1/kpi/people", params=params, headers=as_(caller))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def departments(client: httpx.AsyncClient, caller: str = "OEM", **params: str) -> list[dict[str, Any]]:
    answer = await client.get("/v1/kpi/departments", params=params, headers=as_(caller))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def row(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["staff_code"], item["role"], item["dealer_code"], item["value"], item["n"], item["ci_low"],
            item["ci_high"], item["rank"])


async def survey_world(client: httpx.AsyncClient, year: int) -> None:
    """March of `year`, staff codes P<its last two digits>: D1: advisor P77-SA1 (named) on 10 CSI responses
    (80 x5, 90 x5, all promoters), advisor P77-SA2 (no staff record) on 12 (70 x6, 100 x6), technician P77-T1 on all 22; sales consultant
    P77-SC1 on 10 SSI responses (index 90; 6 promoters, 2 passives, 2 detractors); one CSI response
    naming nobody. D2: advisor P77-SA3 on 3 CSI responses of 100."""
    at, p = t(year, 3, 10, 9), f"P{year % 100}"
    await staff(client, "D1", f"{p}-SA1", "陈杰", "service_advisor")
    await staff(client, "D1", f"{p}-T1", "Li Wei", "technician")
    for i in range(10):
        await respond(client, "D1", at, 80.0 if i < 5 else 90.0, nps="promoter", advisor=f"{p}-SA1", technician=f"{p}-T1")
    for i in range(12):
        await respond(client, "D1", at, 70.0 if i < 6 else 100.0, advisor=f"{p}-SA2", technician=f"{p}-T1")
    for category in ["promoter"] * 6 + ["passive"] * 2 + ["detractor"] * 2:
        await respond(client, "D1", at, 90.0, kind="ssi", nps=category, sales_consultant=f"{p}-SC1")
    await respond(client, "D1", at, 10.0, nps="detractor")
    for _ in range(3):
        await respond(client, "D2", at, 100.0, advisor=f"{p}-SA3")


async def test_csi_per_advisor_and_technician_ranked_by_the_lower_bound_from_ten_responses(client) -> None:
    await survey_world(client, 2077)
    answer = await people(client, org_code="DN", period="2077-03", kpi="csi")
    assert answer["min_n"] == 10 and answer["role"] is None
    # Advisors' pooled s^2 over all 25 of their values (mean 86.8) = 147.67, the floor of each interval.
    # SA1: mean 85, s^2 27.8 < 147.67: 85 +- 2.262 x sqrt(147.67 / 10) = 85 +- 8.69 -> (76.3, 93.7).
    # SA2: mean 85, s^2 = 12 x 225 / 11 = 245.45: 85 +- 2.201 x sqrt(245.45 / 12) = 85 +- 9.95 -> (75.0, 95.0).
    # Same mean: SA1's narrower interval ranks it first. SA3: 100 from 3 responses, below 10: unranked,
    # 100 +- 4.303 x sqrt(147.67 / 3) -> (69.8, 130.2).
    # T1: the 22 responses, mean 85, s^2 = (10 x 25 + 12 x 225) / 21 = 140.48: 85 +- 2.080 x 2.527 -> (79.7, 90.3).
    assert [row(item) for item in answer["items"]] == [
        ("P77-SA1", "service_advisor", "D1", 85.0, 10, 76.3, 93.7, 1),
        ("P77-SA2", "service_advisor", "D1", 85.0, 12, 75.0, 95.0, 2),
        ("P77-SA3", "service_advisor", "D2", 100.0, 3, 69.8, 130.2, None),
        ("P77-T1", "technician", "D1", 85.0, 22, 79.7, 90.3, 1)]
    assert [item["name"] for item in answer["items"]] == ["陈杰", "P77-SA2", "P77-SA3", "Li Wei"]
    technicians = await people(client, org_code="DN", period="2077-03", kpi="csi", role="technician")
    assert [item["staff_code"] for item in technicians["items"]] == ["P77-T1"] and technicians["role"] == "technician"
    # No sales consultant answers for CSI; SSI goes to P77-SC1 alone: 90 with no spread.
    assert (await people(client, org_code="DN", period="2077-03", kpi="csi", role="sales_consultant"))["items"] == []
    ssi = await people(client, org_code="D1", period="2077", kpi="ssi")
    assert [row(item) for item in ssi["items"]] == [("P77-SC1", "sales_consultant", "D1", 90.0, 10, 90.0, 90.0, 1)]


async def test_nps_from_csi_surveys_to_the_service_people_and_from_ssi_surveys_to_sales(client) -> None:
    await survey_world(client, 2081)
    answer = await people(client, org_code="D1", period="2081-Q1", kpi="nps")
    # SA1's and T1's 10 promoters (SA2's responses have no NPS answer): 100, no spread. SC1: 6 x 100,
    # 2 x 0, 2 x -100 = 40; s^2 = (6 x 60^2 + 2 x 40^2 + 2 x 140^2) / 9 = 7111.1: 40 +- 2.262 x 26.67 -> (-20.3, 100.3).
    assert [row(item) for item in answer["items"]] == [
        ("P81-SA1", "service_advisor", "D1", 100.0, 10, 100.0, 100.0, 1),
        ("P81-T1", "technician", "D1", 100.0, 10, 100.0, 100.0, 1),
        ("P81-SC1", "sales_consultant", "D1", 40.0, 10, -20.3, 100.3, 1)]
    # Departments, each response once: service's 22 CSI responses (not 44 for naming two people; not the
    # 23rd, which names nobody), sales's 10 SSI ones. CSI: mean 85, s^2 140.48 -> (79.7, 90.3).
    assert [(d["dealer_code"], d["department"], d["value"], d["n"], d["ci_low"], d["ci_high"])
            for d in await departments(client, org_code="DN", period="2081-03", kpi="csi")] == [
        ("D1", "service", 85.0, 22, 79.7, 90.3), ("D2", "service", 100.0, 3, 100.0, 100.0)]
    assert [(d["department"], d["value"], d["n"]) for d in await departments(client, org_code="D1", period="2081", kpi="nps")] \
        == [("sales", 40.0, 10), ("service", 100.0, 10)]


async def test_first_time_fix_per_advisor_and_technician(client) -> None:
    """May 2078 at D1: P78-SA1 and P78-T1 fix three VINs; 10 days later P78-SA2 sees the first again for
    the same symptom: SA1's and T1's fir 2/3, SA2's own visit (not repeated) 1/1. Wilson 2/3: (20.8, 93.9),
    1/1: (20.7, 100.0); all below 10 visits, unranked, listed by the pessimistic end all the same."""
    closed = t(2078, 5, 3, 12)
    for vin in ("LP78000000000000A", "LP78000000000000B", "LP78000000000000C"):
        await visit(client, "D1", vin, closed, "S1", advisor="P78-SA1", technician="P78-T1")
    await visit(client, "D1", "LP78000000000000A", closed + timedelta(days=10), "S1", advisor="P78-SA2")
    await visit(client, "D1", "LP78000000000000D", closed, "S1")  # nobody on the order: in no one's figure
    answer = await people(client, org_code="D1", period="2078-05", kpi="fir")
    assert [row(item) for item in answer["items"]] == [
        ("P78-SA1", "service_advisor", "D1", 66.7, 3, 20.8, 93.9, None),
        ("P78-SA2", "service_advisor", "D1", 100.0, 1, 20.7, 100.0, None),
        ("P78-T1", "technician", "D1", 66.7, 3, 20.8, 93.9, None)]
    # The service department: the 4 staffed visits, each once, 3 fixed -> 75.0, Wilson 3/4 (30.1, 95.4).
    assert [(d["department"], d["value"], d["n"], d["ci_low"], d["ci_high"])
            for d in await departments(client, org_code="D1", period="2078-05", kpi="fir")] \
        == [("service", 75.0, 4, 30.1, 95.4)]


async def test_followup_dissatisfied_rate_per_assignee_lower_is_better(client) -> None:
    """March 2079 at D3, service calls all reached: P79-CR1 10 (1 dissatisfied), P79-CR2 10 (4), P79-CR3
    9 (none: the best rate, but below 10 calls), P79-SA9, an advisor on the staff records, 1 (none)."""
    due = t(2079, 3, 5, 10)
    await staff(client, "D3", "P79-CR1", "Wang Fang", "cr_agent")
    await staff(client, "D3", "P79-SA9", "Zhao Lei", "service_advisor")
    for assignee, calls, unhappy in (("P79-CR1", 10, 1), ("P79-CR2", 10, 4), ("P79-CR3", 9, 0), ("P79-SA9", 1, 0)):
        for i in range(calls):
            await call(client, "D3", due, assignee, "dissatisfied" if i < unhappy else "satisfied")
    answer = await people(client, org_code="DS", period="2079-03", kpi="followup_dissatisfied_rate")
    # Ranked by the upper end of Wilson's interval: CR1 1/10 -> (1.8, 40.4) before CR2 4/10 -> (16.8, 68.7).
    # CR3 0/9 -> (0.0, 29.9) would lead, but has 9 calls: unranked. SA9 answers as the advisor it is.
    assert [row(item) for item in answer["items"]] == [
        ("P79-SA9", "service_advisor", "D3", 0.0, 1, 0.0, 79.3, None),
        ("P79-CR1", "cr_agent", "D3", 10.0, 10, 1.8, 40.4, 1),
        ("P79-CR2", "cr_agent", "D3", 40.0, 10, 16.8, 68.7, 2),
        ("P79-CR3", "cr_agent", "D3", 0.0, 9, 0.0, 29.9, None)]
    assert [item["name"] for item in answer["items"]] == ["Zhao Lei", "Wang Fang", "P79-CR2", "P79-CR3"]
    agents = await people(client, org_code="D3", period="2079-03", kpi="followup_on_time", role="cr_agent")
    assert [(item["staff_code"], item["value"], item["n"]) for item in agents["items"]] == [
        ("P79-CR1", 100.0, 10), ("P79-CR2", 100.0, 10), ("P79-CR3", 100.0, 9)]
    # The CR department: the 30 calls, 5 dissatisfied -> 16.7, Wilson 5/30 (7.3, 33.6).
    assert [(d["dealer_code"], d["department"], d["value"], d["n"], d["ci_low"], d["ci_high"])
            for d in await departments(client, period="2079-03", kpi="followup_dissatisfied_rate")] \
        == [("D3", "cr", 16.7, 30, 7.3, 33.6)]


async def test_a_dealer_sees_its_own_people_and_no_one_elses(client) -> None:
    at = t(2080, 6, 2, 9)
    for dealer, code in (("D1", "P80-SA1"), ("D2", "P80-SA2"), ("D3", "P80-SA3")):
        await respond(client, dealer, at, 90.0, advisor=code)
    assert [i["staff_code"] for i in (await people(client, "D1", period="2080", kpi="csi"))["items"]] == ["P80-SA1"]
    assert [i["staff_code"] for i in (await people(client, "DN", period="2080", kpi="csi"))["items"]] == ["P80-SA1", "P80-SA2"]
    assert [d["dealer_code"] for d in await departments(client, "D2", period="2080", kpi="csi")] == ["D2"]
    for path in ("/v1/kpi/people", "/v1/kpi/departments"):
        for caller, foreign in (("D1", "D2"), ("D1", "DN"), ("DN", "D3"), ("DS", "DN")):
            answer = await client.get(path, params={"org_code": foreign, "period": "2080", "kpi": "csi"},
                                      headers=as_(caller))
            unknown = await client.get(path, params={"org_code": "NOPE42", "period": "2080", "kpi": "csi"},
                                       headers=as_(caller))
            assert answer.status_code == 404 and answer.json() == unknown.json(), (path, caller, foreign)


async def test_unknown_kpis_roles_and_periods_are_422_problems(client) -> None:
    for params in ({"period": "2080", "kpi": "complaint_rate"}, {"period": "2080", "kpi": "csi", "role": "manager"},
                   {"period": "2080-13", "kpi": "csi"}, {"period": "2080"}, {"kpi": "csi"}):
        for path in ("/v1/kpi/people", "/v1/kpi/departments"):
            if path.endswith("departments") and "role" in params:
                continue
            answer = await client.get(path, params=params, headers=as_("OEM"))
            assert answer.status_code == 422, (path, params, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
    answer = await client.get("/v1/kpi/people", params={"period": "2080", "kpi": "csi"})
    assert answer.status_code == 401
