"""Improvement plans (PDCA) in process: create, owners, complaint actions, moves, BOLA, the re-check
and overdue actions published once.

The customer and complaint services are stand-ins that judge the caller's token as the real ones
do (a record outside the caller's subtree is unknown); they count the staff look-ups they answer.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.kpi import plans
from services.kpi.app import create_app
from services.kpi.models import TABLES, ImprovementPlan
from services.kpi.plan_sources import PlanSources
from services.kpi.settings import KpiSettings
from shared.auth import INTERNAL_HEADER, TokenVerifier
from tests.kpi.conftest import ORGS, SECRET, as_
from tests.support.databases import unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory

WRITE = frozenset({"kpi:read", "kpi:write"})
# dealer code -> staff code -> active; what the customer service holds.
STAFF: dict[str, dict[str, bool]] = {"D1": {"SA-1": True, "SA-NEW": True, "SA-OLD": False}, "D2": {"SA-2": True}}
LOOKUPS: list[str] = []
COMPLAINT_D1, COMPLAINT_D1_BARE, COMPLAINT_D2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
CORRECTIVE = {"description": "Road test after every NVH repair", "owner": "SA-1", "due": "2025-03-31"}
COMPLAINTS = {COMPLAINT_D1: ("D1", CORRECTIVE), COMPLAINT_D1_BARE: ("D1", None), COMPLAINT_D2: ("D2", CORRECTIVE)}


def sources_app() -> FastAPI:
    """The customer service's staff look-up and the complaint service's corrective action, each answering
    only within the caller's subtree."""
    source, verifier = FastAPI(), TokenVerifier(SECRET)

    def caller_sees(request: Request, dealer: str) -> bool:
        return verifier.verify(request.headers[INTERNAL_HEADER]).path.contains(ORGS[dealer]["path"])

    @source.get("/internal/staff/{dealer}/{code}")
    async def staff(dealer: str, code: str, request: Request) -> JSONResponse:
        LOOKUPS.append(code)
        if dealer not in STAFF or code not in STAFF[dealer] or not caller_sees(request, dealer):
            return JSONResponse({"title": "Not found"}, status_code=404)
        return JSONResponse({"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "staff_id": str(uuid.uuid4()),
                             "code": code, "name": code, "role": "service_advisor", "active": STAFF[dealer][code],
                             "version": 1})

    @source.get("/internal/complaints/{complaint_id}/corrective-action")
    async def corrective(complaint_id: uuid.UUID, request: Request) -> JSONResponse:
        if complaint_id not in COMPLAINTS or not caller_sees(request, COMPLAINTS[complaint_id][0]):
            return JSONResponse({"title": "Not found"}, status_code=404)
        dealer, action = COMPLAINTS[complaint_id]
        return JSONResponse({"complaint_id": str(complaint_id), "dealer_code": dealer, "org_path": ORGS[dealer]["path"],
                             "corrective_action": action})

    return source


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    settings = KpiSettings(database_url=await unit_database_url(tmp_path_factory, "kpi_plans"), internal_secret=SECRET,
                           relay_enabled=False, jobs_enabled=False, log_json=False)
    stand_in = httpx.ASGITransport(sources_app())
    application = create_app(settings, migrate=True, directory=stand_in_directory(ORGS, SECRET),
                             plan_sources=PlanSources("http://customer.test", "http://complaint.test",
                                                      customer_transport=stand_in, complaint_transport=stand_in))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://kpi") as http:
        # SA-1 arrived by staff.changed; SA-NEW exists only at the customer service so far.
        await post_event(http, SECRET, "staff.changed", {
            "dealer_code": "D1", "org_path": "/OEM/DN/D1/", "staff_id": str(uuid.uuid4()), "code": "SA-1",
            "name": "Wang Fang", "role": "service_advisor", "active": True, "version": 1}, source="/csloop/customer")
        yield http


def body(org: str = "D1", **extra: Any) -> dict[str, Any]:
    return {"org_code": org, "kpi": "csi", "period": "2025-01", "baseline": 78.0, "target": 80.0,
            "recheck_period": "2025-02", "cause": "Cars handed back unwashed", "source": {"kind": "driver",
                                                                                          "ref": "cleanliness"},
            "actions": [{"description": "Wash every car", "owner": "SA-1", "due": "2099-01-31"}], **extra}


async def create(client: httpx.AsyncClient, caller: str = "D1", **extra: Any) -> httpx.Response:
    return await client.post("/v1/improvement-plans", json=body(**extra), headers=as_(caller, WRITE))


async def created(client: httpx.AsyncClient, caller: str = "D1", **extra: Any) -> dict[str, Any]:
    answer = await create(client, caller, **extra)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def outbox(app: FastAPI, type_: str) -> list[dict[str, Any]]:
    async with app.state.sessions() as session:
        rows = (await session.execute(select(TABLES.outbox.c.payload).where(TABLES.outbox.c.type == type_)
                                      .order_by(TABLES.outbox.c.seq))).scalars()
        return [row["data"] for row in rows]


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


class TestCreate:
    async def test_a_plan_starts_in_plan_with_its_actions(self, client: httpx.AsyncClient) -> None:
        answer = await create(client)
        assert answer.status_code == 201, answer.text
        plan = answer.json()
        assert answer.headers["Location"] == f"/v1/improvement-plans/{plan['id']}"
        assert plan["status"] == "plan" and plan["org_code"] == "D1" and plan["result"] is None
        assert plan["actions"] == [{"index": 0, "description": "Wash every car", "owner": "SA-1", "due": "2099-01-31",
                                    "complaint_id": None, "done_at": None, "overdue": False}]
        assert (await client.get(f"/v1/improvement-plans/{plan['id']}", headers=as_("D1"))).json() == plan

    async def test_the_owner_is_an_active_staff_code_of_the_plans_dealer(self, client: httpx.AsyncClient) -> None:
        actions = [{"description": "x", "owner": owner, "due": "2099-01-01"} for owner in ("SA-2", "SA-OLD", "NOBODY")]
        errors = problem(await create(client, actions=actions), 422)["errors"]
        assert errors == [{"field": f"actions[{i}].owner", "message": "unknown staff member"} for i in range(3)]

    async def test_staff_created_a_moment_ago_is_asked_for_once(self, client: httpx.AsyncClient) -> None:
        LOOKUPS.clear()
        actions = [{"description": "Call back every detractor", "owner": "SA-NEW", "due": "2099-01-01"}]
        await created(client, actions=actions)
        await created(client, actions=actions)
        assert LOOKUPS == ["SA-NEW"]  # the answer is kept as staff.changed would keep it

    async def test_above_a_dealer_the_owner_is_free_text(self, client: httpx.AsyncClient) -> None:
        actions = [{"description": "Regional cleanliness audit", "owner": "Regional quality manager", "due": "2099-01-01"}]
        assert (await created(client, "DN", org="DN", actions=actions))["actions"][0]["owner"] == "Regional quality manager"
        # The distributor opening its dealer's plan: the dealer's staff rule.
        problem(await create(client, "DN", actions=actions), 422)
        assert (await created(client, "DN"))["org_code"] == "D1"

    async def test_only_the_org_or_one_above_it_opens_a_plan(self, client: httpx.AsyncClient) -> None:
        for caller, org in (("D1", "D2"), ("D1", "DN"), ("DN", "DS"), ("DN", "D3"), ("D1", "NOPE")):
            errors = problem(await create(client, caller, org=org), 422)["errors"]
            assert errors == [{"field": "org_code", "message": "unknown organisation"}], (caller, org)
        assert (await client.post("/v1/improvement-plans", json=body(), headers=as_("D1"))).status_code == 403

    async def test_bad_fields_are_named(self, client: httpx.AsyncClient) -> None:
        cases = {"kpi": ({"kpi": "happiness"}, "kpi"), "period": ({"period": "2025-13"}, "period"),
                 "recheck": ({"recheck_period": "2024-12"}, "recheck_period"),
                 "no actions": ({"actions": []}, "actions")}
        for name, (extra, field) in cases.items():
            errors = problem(await create(client, **extra), 422)["errors"]
            assert [e["field"] for e in errors] == [field], name
        incomplete = problem(await create(client, actions=[{"description": "x", "due": "2099-01-01"}]), 422)
        assert incomplete["errors"][0]["field"] == "actions.0"


class TestComplaintActions:
    async def test_a_complaint_source_takes_its_corrective_action(self, client: httpx.AsyncClient) -> None:
        plan = await created(client, source={"kind": "complaint", "ref": str(COMPLAINT_D1)}, actions=[])
        assert plan["source"] == {"kind": "complaint", "ref": str(COMPLAINT_D1)}
        assert plan["actions"] == [{"index": 0, "description": CORRECTIVE["description"], "owner": "SA-1",
                                    "due": "2025-03-31", "complaint_id": str(COMPLAINT_D1), "done_at": None,
                                    "overdue": True}]

    async def test_an_action_names_a_complaint_and_keeps_what_it_gives(self, client: httpx.AsyncClient) -> None:
        plan = await created(client, actions=[{"complaint_id": str(COMPLAINT_D1), "due": "2099-06-30"},
                                              {"description": "Own", "owner": "SA-1", "due": "2099-01-01"}])
        first = plan["actions"][0]
        assert (first["description"], first["due"], first["complaint_id"]) == (
            CORRECTIVE["description"], "2099-06-30", str(COMPLAINT_D1))

    async def test_a_siblings_or_unknown_complaint_is_unknown(self, client: httpx.AsyncClient) -> None:
        for ref in (str(COMPLAINT_D2), str(uuid.uuid4()), "not-a-uuid"):
            errors = problem(await create(client, source={"kind": "complaint", "ref": ref}, actions=[]), 422)["errors"]
            assert errors == [{"field": "source.ref", "message": "unknown case"}], ref
        errors = problem(await create(client, actions=[{"complaint_id": str(COMPLAINT_D2)}]), 422)["errors"]
        assert errors == [{"field": "actions[0].complaint_id", "message": "unknown case"}]
        # The distributor sees D2's complaint, but a D1 plan takes only D1's (or its subtree's).
        errors = problem(await create(client, "DN", actions=[{"complaint_id": str(COMPLAINT_D2)}]), 422)["errors"]
        assert errors == [{"field": "actions[0].complaint_id", "message": "unknown case"}]

    async def test_a_complaint_without_corrective_action_needs_the_action_written(self, client: httpx.AsyncClient) -> None:
        errors = problem(await create(client, actions=[{"complaint_id": str(COMPLAINT_D1_BARE)}]), 422)["errors"]
        assert errors == [{"field": "actions[0].complaint_id", "message": "no corrective action"}]

    async def test_done_publishes_action_done_naming_the_complaint(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        plan = await created(client, source={"kind": "complaint", "ref": str(COMPLAINT_D1)}, actions=[])
        url = f"/v1/improvement-plans/{plan['id']}/actions/0/done"
        done = await client.post(url, headers=as_("D1", WRITE))
        assert done.status_code == 200, done.text
        done_at = done.json()["actions"][0]["done_at"]
        assert done_at and done.json()["actions"][0]["overdue"] is False
        again = await client.post(url, headers=as_("D1", WRITE))
        assert again.json()["actions"][0]["done_at"] == done_at
        events = [e for e in await outbox(app, "improvement.action_done") if e["plan_id"] == plan["id"]]
        assert len(events) == 1
        assert (events[0]["complaint_id"], events[0]["action_index"], events[0]["org_path"]) == (
            str(COMPLAINT_D1), 0, "/OEM/DN/D1/")


class TestTransitions:
    async def test_plan_do_check_act_closed(self, client: httpx.AsyncClient) -> None:
        plan = await created(client)
        url = f"/v1/improvement-plans/{plan['id']}/transitions"
        refused = problem(await client.post(url, json={"to": "check"}, headers=as_("D1", WRITE)), 409)
        assert refused["allowed"] == ["do"] and refused["status_now"] == "plan"
        for to in ("do", "check", "act", "closed"):
            answer = await client.post(url, json={"to": to}, headers=as_("D1", WRITE))
            assert answer.status_code == 200 and answer.json()["status"] == to, answer.text
        assert problem(await client.post(url, json={"to": "plan"}, headers=as_("D1", WRITE)), 409)["allowed"] == []
        done = await client.post(f"/v1/improvement-plans/{plan['id']}/actions/0/done", headers=as_("D1", WRITE))
        assert problem(done, 409)["status_now"] == "closed"

    async def test_check_may_close_without_act(self, client: httpx.AsyncClient) -> None:
        plan = await created(client)
        url = f"/v1/improvement-plans/{plan['id']}/transitions"
        for to in ("do", "check", "closed"):
            assert (await client.post(url, json={"to": to}, headers=as_("DN", WRITE))).status_code == 200

    async def test_bad_moves_and_indexes(self, client: httpx.AsyncClient) -> None:
        plan = await created(client)
        base = f"/v1/improvement-plans/{plan['id']}"
        problem(await client.post(f"{base}/transitions", json={"to": "finished"}, headers=as_("D1", WRITE)), 422)
        problem(await client.post(f"{base}/actions/-1/done", headers=as_("D1", WRITE)), 422)
        problem(await client.post(f"{base}/actions/1/done", headers=as_("D1", WRITE)), 404)
        problem(await client.post(f"/v1/improvement-plans/{uuid.uuid4()}/actions/0/done", headers=as_("D1", WRITE)), 404)


class TestScope:
    async def test_another_orgs_plan_is_not_found(self, client: httpx.AsyncClient) -> None:
        plan = await created(client)
        for caller in ("D2", "DS", "D3"):
            problem(await client.get(f"/v1/improvement-plans/{plan['id']}", headers=as_(caller)), 404)
            moved = await client.post(f"/v1/improvement-plans/{plan['id']}/transitions", json={"to": "do"},
                                      headers=as_(caller, WRITE))
            problem(moved, 404)
            problem(await client.post(f"/v1/improvement-plans/{plan['id']}/actions/0/done", headers=as_(caller, WRITE)), 404)
        for caller in ("D1", "DN", "OEM"):
            assert (await client.get(f"/v1/improvement-plans/{plan['id']}", headers=as_(caller))).status_code == 200

    async def test_the_list_holds_the_orgs_plans_and_its_subtrees(self, client: httpx.AsyncClient) -> None:
        mine = await created(client)
        theirs = await created(client, "D2", org="D2", actions=[{"description": "x", "owner": "SA-2", "due": "2099-01-01"}])

        async def ids(caller: str, **params: str) -> set[str]:
            answer = await client.get("/v1/improvement-plans", params={"limit": 200, **params}, headers=as_(caller))
            assert answer.status_code == 200, answer.text
            return {p["id"] for p in answer.json()["items"]}

        assert mine["id"] in await ids("D1") and theirs["id"] not in await ids("D1")
        assert {mine["id"], theirs["id"]} <= await ids("DN")
        assert mine["id"] in await ids("DN", org_code="D1") and theirs["id"] not in await ids("DN", org_code="D1")
        assert not {mine["id"], theirs["id"]} & await ids("DS")
        problem(await client.get("/v1/improvement-plans", params={"org_code": "D2"}, headers=as_("D1")), 404)
        problem(await client.get("/v1/improvement-plans", params={"status": "done"}, headers=as_("D1")), 422)
        assert mine["id"] in await ids("D1", status="plan") and mine["id"] not in await ids("D1", status="do")


class TestJob:
    async def test_overdue_actions_are_published_once(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        plan = await created(client, actions=[{"description": "Late", "owner": "SA-1", "due": "2025-01-10"},
                                              {"description": "Done late", "owner": "SA-1", "due": "2025-01-10"},
                                              {"description": "Not yet due", "owner": "SA-1", "due": "2099-01-10"}])
        done = await client.post(f"/v1/improvement-plans/{plan['id']}/actions/1/done", headers=as_("D1", WRITE))
        assert done.status_code == 200
        assert [a["overdue"] for a in done.json()["actions"]] == [True, False, False]
        await plans.run_once(app.state.sessions)
        await plans.run_once(app.state.sessions)
        events = [e for e in await outbox(app, "improvement.action_overdue") if e["plan_id"] == plan["id"]]
        assert len(events) == 1
        assert (events[0]["action_index"], events[0]["due"], events[0]["org_code"], events[0]["org_path"],
                events[0]["owner"]) == (0, "2025-01-10", "D1", "/OEM/DN/D1/", "SA-1")
        listed = await client.get("/v1/improvement-plans", params={"overdue": "true", "limit": 200}, headers=as_("DN"))
        assert plan["id"] in {p["id"] for p in listed.json()["items"]}
        listed = await client.get("/v1/improvement-plans", params={"overdue": "false", "limit": 200}, headers=as_("DN"))
        assert plan["id"] not in {p["id"] for p in listed.json()["items"]}

    async def test_a_plans_recheck(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        """csi of D3 in 2025-02: responses 70, 90 and 95 -> (70 + 90 + 95) / 3 = 85.0: meets 80, not 90."""
        actions = [{"description": "x", "owner": "Anyone", "due": "2099-01-01"}]
        meets = await created(client, "DS", org="DS", target=80.0, actions=actions)
        misses = await created(client, "DS", org="DS", target=90.0, actions=actions)
        await plans.run_once(app.state.sessions)
        assert (await client.get(f"/v1/improvement-plans/{meets['id']}", headers=as_("DS"))).json()["result"] is None
        for index, day in ((70.0, 3), (90.0, 14), (95.0, 27)):
            await _respond(client, "D3", datetime(2025, 2, day, 10, tzinfo=UTC), index)
        await _respond(client, "D3", datetime(2025, 3, 2, 10, tzinfo=UTC), 10.0)  # after the period: not counted
        # Before the job runs, a read computes it.
        assert await _stored_result(app, meets["id"]) is None
        read = await client.get(f"/v1/improvement-plans/{meets['id']}", headers=as_("DS"))
        assert read.json()["result"] == {"value": 85.0, "met": True}
        await plans.run_once(app.state.sessions)
        assert await _stored_result(app, meets["id"]) == (85.0, True)
        assert await _stored_result(app, misses["id"]) == (85.0, False)
        read = await client.get(f"/v1/improvement-plans/{misses['id']}", headers=as_("OEM"))
        assert read.json()["result"] == {"value": 85.0, "met": False}

    async def test_a_lower_is_better_kpi_is_met_below_its_target(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        """appointment_lead_days of D2 in 2025-02: booked 2 and 4 days ahead -> (2 + 4) / 2 = 3.0 days:
        meets a target of 5 (at most 5 days), misses one of 2."""
        actions = [{"description": "x", "owner": "SA-2", "due": "2099-01-01"}]
        meets = await created(client, "D2", org="D2", kpi="appointment_lead_days", target=5.0, actions=actions)
        misses = await created(client, "D2", org="D2", kpi="appointment_lead_days", target=2.0, actions=actions)
        for days, at in ((2, datetime(2025, 2, 5, 9, tzinfo=UTC)), (4, datetime(2025, 2, 20, 9, tzinfo=UTC))):
            await post_event(client, SECRET, "appointment.changed", {
                "appointment_id": str(uuid.uuid4()), "dealer_code": "D2", "org_path": ORGS["D2"]["path"],
                "customer_id": str(uuid.uuid4()), "status": "booked", "requested_at": at.isoformat(),
                "slot_at": (at + timedelta(days=days)).isoformat(), "booked_at": at.isoformat(),
                "changed_at": at.isoformat()}, source="/csloop/customer")
        await plans.run_once(app.state.sessions)
        assert await _stored_result(app, meets["id"]) == (3.0, True)
        assert await _stored_result(app, misses["id"]) == (3.0, False)

    async def test_a_recheck_period_not_over_has_no_result(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        later = (date.today() + timedelta(days=40)).strftime("%Y-%m")
        plan = await created(client, "DS", org="DS", period="2025-01", recheck_period=later,
                             actions=[{"description": "x", "owner": "Anyone", "due": "2099-01-01"}])
        await _respond(client, "D3", datetime.now(UTC), 90.0)
        await plans.run_once(app.state.sessions)
        assert (await client.get(f"/v1/improvement-plans/{plan['id']}", headers=as_("DS"))).json()["result"] is None


async def _respond(client: httpx.AsyncClient, dealer: str, at: datetime, index: float) -> None:
    data = {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "survey_id": str(uuid.uuid4()), "survey_code": "CSI",
            "survey_version": 1, "kind": "csi", "response_id": str(uuid.uuid4()), "invitation_id": str(uuid.uuid4()),
            "submitted_at": at.isoformat(), "scores": {"index": index, "factors": {}, "nps_category": None}}
    await post_event(client, SECRET, "survey.response.submitted", data, source="/csloop/survey")


async def _stored_result(app: FastAPI, plan_id: str) -> tuple[float, bool] | None:
    async with app.state.sessions() as session:
        plan = await session.get(ImprovementPlan, uuid.UUID(plan_id))
        assert plan is not None
        return None if plan.result_value is None else (plan.result_value, bool(plan.result_met))
