"""Issue 15: the KPI facts name who served the customer, by event and by rebuild.

In process, the real customer, survey and KPI services, their outbox events relayed by hand:
a dealer adds its staff (staff.changed), closes a repair order naming its advisor and technician
and delivers a car naming its sales consultant; the survey service invites both customers, copies
the staff onto the invitations and the responses and their events; the KPI service keeps them on
its response and visit facts and names the people in kpi_staff. A rebuild from the services'
records (`csloop kpi rebuild` posts /internal/kpi/rebuild) restores every one of them.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.customer.app import create_app as create_customer_app
from services.customer.models import TABLES as CUSTOMER_TABLES
from services.customer.settings import CustomerSettings
from services.survey import templates
from services.survey.app import create_app as create_survey_app
from services.survey.customer_source import CustomerSource
from services.survey.jobs import run_once
from services.survey.models import TABLES as SURVEY_TABLES
from services.survey.settings import SurveySettings
from shared.auth import INTERNAL_HEADER, Principal, mint_internal_token, system_principal
from shared.db import utcnow
from shared.etag import etag_for
from tests.kpi.conftest import ORGS, SECRET
from tests.kpi.in_process import running_kpi
from tests.support.databases import execute_as_system, unit_database_url
from tests.support.events import post_event
from tests.support.org_directory import stand_in_directory

WRITE = frozenset({"customers:read", "customers:write", "surveys:read", "surveys:write"})
VISIT_VIN, DELIVERY_VIN = "LFV3A23C7K3012345", "LSVAU21B5N2183294"


def as_(code: str) -> dict[str, str]:
    org = ORGS[code]
    principal = Principal(f"key-{code}", code, org["path"], org["kind"], (), WRITE)
    return {INTERNAL_HEADER: mint_internal_token(principal, SECRET, ttl_seconds=3600)}


def answers(template: dict[str, Any], score: int, nps: int) -> dict[str, Any]:
    """Every matrix row at `score`, the NPS at `nps` (with the reason a detractor is asked), a fix."""
    out: dict[str, Any] = {"nps": nps}
    for question in template["questions"]:
        if question["type"] == "matrix":
            out[question["code"]] = {row["code"]: score for row in question["rows"]}
    if nps <= 6:
        out["nps_reason"] = "Took too long"
    if template["kind"] == "csi":
        out["fixed_first_time"] = "yes"
    return out


class Sources(httpx.AsyncBaseTransport):
    """The source services a rebuild reads: the real customer and survey services, no complaints."""

    def __init__(self, customer: FastAPI, survey: FastAPI) -> None:
        empty = FastAPI()

        @empty.get("/internal/facts/{kind}")
        async def nothing(kind: str) -> dict[str, Any]:
            return {"items": [], "next_cursor": None}

        self.by_host = {"customer.test": httpx.ASGITransport(customer), "survey.test": httpx.ASGITransport(survey)}
        self.empty = httpx.ASGITransport(empty)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.by_host.get(request.url.host, self.empty).handle_async_request(request)


@dataclass
class World:
    customer_app: FastAPI
    survey_app: FastAPI
    customer: httpx.AsyncClient
    survey: httpx.AsyncClient
    kpi: httpx.AsyncClient
    kpi_url: str
    relayed: dict[str, int] = field(default_factory=lambda: {"customer": 0, "survey": 0})

    async def outbox(self, source: str) -> list[dict[str, Any]]:
        """The source's outbox events not relayed yet (marked relayed)."""
        app, outbox = ((self.customer_app, CUSTOMER_TABLES.outbox) if source == "customer"
                       else (self.survey_app, SURVEY_TABLES.outbox))
        async with app.state.sessions() as session:
            rows = (await session.execute(select(outbox.c.seq, outbox.c.payload)
                                          .where(outbox.c.seq > self.relayed[source]).order_by(outbox.c.seq))).all()
        if rows:
            self.relayed[source] = rows[-1][0]
        return [payload for _, payload in rows]

    async def relay(self) -> list[dict[str, Any]]:
        """The customer service's new events to the survey and KPI services, the survey service's to
        the KPI service, as the relay would; the events relayed."""
        token = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
        relayed = []
        for event in await self.outbox("customer"):
            for target in (self.survey, self.kpi):
                answer = await target.post("/internal/events", json=event, headers=token)
                assert answer.status_code == 200, answer.text
            relayed.append(event)
        for event in await self.outbox("survey"):
            answer = await self.kpi.post("/internal/events", json=event, headers=token)
            assert answer.status_code == 200, answer.text
            relayed.append(event)
        return relayed

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.customer.post(path, json=body, headers=as_("D1"))
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def kpi_rows(self) -> dict[str, list[tuple]]:
        return {
            "responses": await execute_as_system(self.kpi_url, "SELECT kind, advisor, technician, sales_consultant "
                                                               "FROM kpi_responses ORDER BY kind"),
            "visits": await execute_as_system(self.kpi_url, "SELECT vin, advisor, technician FROM kpi_visits"),
            "staff": await execute_as_system(self.kpi_url, "SELECT org_path, code, name, role, active, version "
                                                           "FROM kpi_staff ORDER BY code"),
        }


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    customer_app = create_customer_app(
        CustomerSettings(database_url=await unit_database_url(tmp_path_factory, "customer_staff_facts"),
                         internal_secret=SECRET, relay_enabled=False, birthday_job_enabled=False, log_json=False,
                         log_level="WARNING"),
        migrate=True, org_directory=stand_in_directory(ORGS, SECRET))
    # The survey service asks the real customer service about customers and staff codes.
    customers = CustomerSource("http://customer.test", transport=httpx.ASGITransport(customer_app))
    survey_app = create_survey_app(
        SurveySettings(database_url=await unit_database_url(tmp_path_factory, "survey_staff_facts"),
                       internal_secret=SECRET, relay_enabled=False, jobs_enabled=False,
                       survey_link_base="https://csloop.example", log_json=False),
        migrate=True, directory=stand_in_directory(ORGS, SECRET), customers=customers)
    kpi_url = await unit_database_url(tmp_path_factory, "kpi_staff_facts")
    async with customer_app.router.lifespan_context(customer_app), survey_app.router.lifespan_context(survey_app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(customer_app), base_url="http://customer.test") as customer, \
            httpx.AsyncClient(transport=httpx.ASGITransport(survey_app), base_url="http://survey.test") as survey, \
            running_kpi(kpi_url, SECRET, ORGS, source_transport=Sources(customer_app, survey_app),
                        customer_url="http://customer.test", survey_url="http://survey.test",
                        complaint_url="http://complaint.test") as (_, kpi, _):
        yield World(customer_app, survey_app, customer, survey, kpi, kpi_url)


async def test_responses_visits_and_staff_keep_who_served_by_event_and_by_rebuild(world: World) -> None:
    w = world
    advisor = await w.post("/v1/staff", {"code": "SA01", "name": "陈杰", "role": "service_advisor"})
    await w.post("/v1/staff", {"code": "TE01", "name": "王强", "role": "technician"})
    await w.post("/v1/staff", {"code": "SC01", "name": "李丽", "role": "sales_consultant"})
    renamed = await w.customer.patch(f"/v1/staff/{advisor['id']}", json={"name": "陈杰明"},
                                     headers={**as_("D1"), "If-Match": etag_for(1)})
    assert renamed.status_code == 200, renamed.text
    consenting = {"dealer_code": "D1", "name": "张伟", "phone": "13912345678", "consent": {"survey": True}}
    repaired = await w.post("/v1/customers", {**consenting, "external_id": uuid.uuid4().hex})
    bought = await w.post("/v1/customers", {**consenting, "external_id": uuid.uuid4().hex, "phone": "13912345679"})
    closed = utcnow() - timedelta(days=4)
    await w.post("/v1/service-visits", {
        "ro_number": "RO-STAFF-1", "vin": VISIT_VIN, "customer_id": repaired["id"], "dealer_code": "D1",
        "visit_type": "repair", "opened_at": (closed - timedelta(hours=3)).isoformat(), "closed_at": closed.isoformat(),
        "advisor": "SA01", "technician": "TE01"})
    await w.post("/v1/deliveries", {"vin": DELIVERY_VIN, "customer_id": bought["id"], "dealer_code": "D1",
                                    "delivered_at": closed.isoformat(), "sales_consultant": "SC01"})
    staff_events = [e for e in await w.relay() if e["type"] == "staff.changed"]
    assert [(e["data"]["code"], e["data"]["version"]) for e in staff_events] == [
        ("SA01", 1), ("TE01", 1), ("SC01", 1), ("SA01", 2)]

    # The survey job sends both invitations (due three days after the visit and the delivery).
    assert await run_once(w.survey_app.state.sessions, w.survey_app.state.settings) == (2, 0)
    sent = [e["data"] for e in await w.relay() if e["type"] == "survey.invitation.sent"]
    assert sorted((e["kind"], tuple(sorted(e["staff"].items()))) for e in sent) == [
        ("csi", (("advisor", "SA01"), ("sales_consultant", None), ("technician", "TE01"))),
        ("ssi", (("advisor", None), ("sales_consultant", "SC01"), ("technician", None)))]
    read = (await w.survey.get("/v1/survey-invitations", headers=as_("OEM"))).json()["items"]
    assert {i["kind"]: i["staff"] for i in read} == {
        "csi": {"advisor": "SA01", "technician": "TE01", "sales_consultant": None},
        "ssi": {"advisor": None, "technician": None, "sales_consultant": "SC01"}}
    for invitation in read:
        template = templates.csi() if invitation["kind"] == "csi" else templates.ssi()
        token = invitation["url"].rsplit("/", 1)[1]
        # A detractor: the response raises an alert, whose event names the staff too.
        answered = await w.survey.post(f"/v1/public/surveys/{token}/responses",
                                       json={"answers": answers(template, 9, 3)})
        assert answered.status_code == 201, answered.text
    relayed = await w.relay()
    submitted = {e["data"]["kind"]: e["data"]["staff"] for e in relayed if e["type"] == "survey.response.submitted"}
    alerts = {e["data"]["kind"]: e["data"]["staff"] for e in relayed if e["type"] == "survey.alert.raised"}
    assert submitted == alerts == {
        "csi": {"advisor": "SA01", "technician": "TE01", "sales_consultant": None},
        "ssi": {"advisor": None, "technician": None, "sales_consultant": "SC01"}}
    responses = (await w.survey.get("/v1/survey-responses", headers=as_("OEM"))).json()["items"]
    assert {r["kind"]: r["staff"] for r in responses} == submitted

    path = ORGS["D1"]["path"]
    expected = {
        "responses": [("csi", "SA01", "TE01", None), ("ssi", None, None, "SC01")],
        "visits": [(VISIT_VIN, "SA01", "TE01")],
        "staff": [(path, "SA01", "陈杰明", "service_advisor", True, 2), (path, "SC01", "李丽", "sales_consultant", True, 1),
                  (path, "TE01", "王强", "technician", True, 1)],
    }
    assert await w.kpi_rows() == expected

    # staff.changed arriving late (its version 1 after version 2) leaves the newer name.
    first = next(e for e in staff_events if e["data"]["code"] == "SA01")
    _, outcome = await post_event(w.kpi, SECRET, "staff.changed", first["data"], source="/csloop/customer")
    assert outcome == "applied"
    assert (await w.kpi_rows())["staff"] == expected["staff"]

    # A rebuild from the services' records: the same people on the same facts.
    await execute_as_system(w.kpi_url, "UPDATE kpi_responses SET advisor = NULL, technician = NULL, "
                                       "sales_consultant = NULL")
    await execute_as_system(w.kpi_url, "DELETE FROM kpi_staff")
    token = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
    rebuilt = await w.kpi.post("/internal/kpi/rebuild", headers=token)
    assert rebuilt.status_code == 200, rebuilt.text
    assert {k: rebuilt.json()["rebuilt"][k] for k in ("responses", "visits", "deliveries", "staff")} == {
        "responses": 2, "visits": 1, "deliveries": 1, "staff": 3}
    assert await w.kpi_rows() == expected


async def test_the_staff_look_up_knows_the_dealers_codes_retired_ones_too_within_the_callers_subtree(
        world: World) -> None:
    w = world
    member = await w.post("/v1/staff", {"code": "LK01", "name": "赵敏", "role": "technician"})
    retired = await w.customer.patch(f"/v1/staff/{member['id']}", json={"active": False},
                                     headers={**as_("D1"), "If-Match": etag_for(1)})
    assert retired.status_code == 200, retired.text
    changes = [e["data"] for e in await w.relay() if e["type"] == "staff.changed"]
    assert [(c["code"], c["active"], c["version"]) for c in changes] == [("LK01", True, 1), ("LK01", False, 2)]

    async def known(caller: str, dealer: str) -> list[str]:
        answer = await w.customer.post("/internal/staff/known", json={"dealer_code": dealer,
                                                                      "codes": ["LK01", "NOBODY", "LK01"]},
                                       headers=as_(caller))
        assert answer.status_code == 200, answer.text
        return answer.json()["known"]

    assert await known("D1", "D1") == await known("DN", "D1") == ["LK01"]
    assert await known("D2", "D1") == await known("D3", "D1") == []  # D1's staff are not theirs to name
    assert await known("D1", "D2") == []


async def test_an_api_invitation_names_staff_the_customer_service_knows_for_its_dealer(world: World) -> None:
    w = world
    surveys = (await w.survey.get("/v1/surveys", params={"kind": "csi"}, headers=as_("OEM"))).json()["items"]
    survey_id = next(s["id"] for s in surveys if s["code"] == "csi")  # the standard CSI the visit's invitation made

    async def invite(staff: dict[str, str]) -> httpx.Response:
        someone = await w.post("/v1/customers", {"external_id": uuid.uuid4().hex, "dealer_code": "D1", "name": "刘洋",
                                                 "phone": f"139{uuid.uuid4().int % 10**8:08d}",
                                                 "consent": {"survey": True}})
        return await w.survey.post("/v1/survey-invitations", headers=as_("D1"), json={
            "survey_id": survey_id, "customer_id": someone["id"], "dealer_code": "D1", "channel": "sms",
            "context": {"ro_number": "RO-API-1", "staff": staff}})

    # LK01 retired in the test before: a survey of a visit already made may still name them.
    invited = await invite({"advisor": "SA01", "technician": "LK01"})
    assert invited.status_code == 201, invited.text
    read = await w.survey.get(f"/v1/survey-invitations/{invited.json()['id']}", headers=as_("D1"))
    assert read.json()["staff"] == {"advisor": "SA01", "technician": "LK01", "sales_consultant": None}
    d2_staff = await w.customer.post("/v1/staff", json={"code": "SA77", "name": "周静", "role": "service_advisor"},
                                     headers=as_("D2"))
    assert d2_staff.status_code == 201, d2_staff.text
    refused = await invite({"advisor": "SA77", "sales_consultant": "SC01"})  # D2's advisor; D1's consultant
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "context.staff.advisor", "message": "unknown staff member"}]
