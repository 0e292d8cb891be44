"""The follow-up desk (issue 14 item 2): assignment, attempts that end a task (done,
unreachable, an issue for the complaint service), the legacy /complete, an agent's call list."""

import uuid
from typing import Any

import httpx
import pytest

from services.customer.models import Staff
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.customer.conftest import ORGS, SECRET, ClientFactory, vin_with_check_digit
from tests.customer.test_api_customers import create, outbox_events
from tests.customer.test_followups import deliver, tasks

pytestmark = pytest.mark.asyncio


async def add_staff(app, dealer_code: str = "DLR-0042", *, active: bool = True, role: str = "cr_agent") -> str:
    """A staff member straight in the table (the staff API is another part of the issue)."""
    code = f"CR-{uuid.uuid4().hex[:8]}"
    async with app.state.sessions() as session, session.begin():
        session.add(Staff(dealer_code=dealer_code, org_path=ORGS[dealer_code][1], code=code, name=f"Agent {code}",
                          role=role, active=active, version=1))
    return code


async def new_task(client: httpx.AsyncClient, app, client_for: ClientFactory, *, dealer_code: str = "DLR-0042",
                   delivered_at: str = "2026-05-01T10:00:00Z") -> dict[str, Any]:
    """A new-car follow-up, made as the service makes it: from the delivery's event."""
    customer = await create(client, dealer_code=dealer_code)
    vin = vin_with_check_digit()
    made = await client.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": dealer_code,
                                                     "delivered_at": delivered_at})
    assert made.status_code == 201, made.text
    await deliver(app, client_for, "vehicle.delivered", "vin", vin, times=1)
    [task] = await tasks(client, customer_id=customer["id"])
    return task


async def attempt(client: httpx.AsyncClient, task: dict, **body: Any) -> httpx.Response:
    return await client.post(f"/v1/follow-ups/{task['id']}/attempts", json={"channel": "phone", **body})


async def events_of(app, type_: str, followup_id: str) -> list[dict]:
    return [e for e in await outbox_events(app, type_) if e["data"]["followup_id"] == followup_id]


async def followup_facts(client: httpx.AsyncClient) -> dict[str, dict]:
    """Every follow-up as `/internal/facts/followups` gives it a KPI rebuild, by id, every page."""
    headers = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
    found, cursor = {}, None
    while True:
        page = await client.get("/internal/facts/followups", headers=headers,
                                params={"limit": 500} | ({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        found |= {item["followup_id"]: item for item in page.json()["items"]}
        if not (cursor := page.json()["next_cursor"]):
            return found


class TestAttempts:
    async def test_not_reached_max_attempts_times_ends_unreachable_with_one_event(self, dealer, app, client_for) -> None:
        task = await new_task(dealer, app, client_for)
        assert (task["attempts"], task["max_attempts"], task["result"]) == (0, 3, None)
        for number in (1, 2):
            answer = await attempt(dealer, task, reached=False, note=f"no answer {number}")
            assert answer.status_code == 200, answer.text
            assert (answer.json()["status"], answer.json()["attempts"]) == ("open", number)
        assert await events_of(app, "followup.unreachable", task["id"]) == []
        last = (await attempt(dealer, task, reached=False, channel="sms")).json()
        assert (last["status"], last["attempts"]) == ("unreachable", 3)
        assert last["result"] == {"reached": False, "satisfaction": None, "issue_codes": []}
        [event] = await events_of(app, "followup.unreachable", task["id"])
        assert event["data"]["attempts"] == 3 and event["data"]["kind"] == "new_car"
        assert (await attempt(dealer, task, reached=False)).status_code == 409
        assert await events_of(app, "followup.completed", task["id"]) == []
        listed = (await dealer.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"]
        assert [(a["reached"], a["channel"]) for a in listed] == [(False, "phone"), (False, "phone"), (False, "sms")]

    async def test_reached_dissatisfied_completes_logs_a_contact_and_publishes_issue_found_once(
            self, dealer, app, client_for) -> None:
        agent = await add_staff(app)
        task = await new_task(dealer, app, client_for)
        answer = await attempt(dealer, task, reached=True, channel="visit", satisfaction="dissatisfied",
                               issue_codes=["not_fixed", "price"], note="Noise is back", agent=agent)
        assert answer.status_code == 200, answer.text
        done = answer.json()
        assert done["status"] == "done" and done["attempts"] == 1
        assert done["result"] == {"reached": True, "satisfaction": "dissatisfied", "issue_codes": ["not_fixed", "price"]}
        again = await attempt(dealer, task, reached=True, satisfaction="dissatisfied", issue_codes=["price"])
        assert again.status_code == 409
        [issue] = await events_of(app, "followup.issue_found", task["id"])
        assert issue["data"]["issue_codes"] == ["not_fixed", "price"] and issue["data"]["agent"] == agent
        assert issue["data"]["note"] == "Noise is back" and issue["data"]["customer_id"] == task["customer_id"]
        [completed] = await events_of(app, "followup.completed", task["id"])
        assert completed["data"].items() >= {"reached": True, "satisfaction": "dissatisfied", "attempts": 1,
                                             "outcome": "dissatisfied"}.items()
        assert completed["data"]["issue_codes"] == ["not_fixed", "price"]
        [contact] = (await dealer.get("/v1/interactions", params={"customer_id": task["customer_id"]})).json()["items"]
        assert {k: contact[k] for k in ("channel", "direction", "reason", "agent", "summary")} == {
            "channel": "walk_in", "direction": "outbound", "reason": "follow_up", "agent": agent, "summary": "Noise is back"}
        [stored] = (await dealer.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"]
        assert stored["interaction_id"] == contact["id"]
        assert [e for e in await outbox_events(app, "interaction.logged") if e["data"]["interaction_id"] == contact["id"]]

    async def test_reached_satisfied_publishes_no_issue_and_the_agent_defaults_to_the_assignee(
            self, dealer, app, client_for) -> None:
        agent = await add_staff(app)
        task = await new_task(dealer, app, client_for)
        assert (await dealer.post(f"/v1/follow-ups/{task['id']}/assign", json={"assignee": agent})).status_code == 200
        done = (await attempt(dealer, task, reached=True, satisfaction="satisfied")).json()
        assert done["result"]["satisfaction"] == "satisfied" and done["assignee"] == agent
        assert await events_of(app, "followup.issue_found", task["id"]) == []
        [stored] = (await dealer.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"]
        assert stored["agent"] == agent

    async def test_a_colleagues_calls_leave_the_task_and_its_figures_with_the_assignee(
            self, dealer, app, client_for) -> None:
        """Issue 14's decision: people figures use the assignee, not the attempt's agent. A colleague
        covering the call list is named on the attempts and the contacts only; the task, the events
        the KPI service counts (completed, unreachable) and the rebuild's facts keep the assignee."""
        assignee, colleague = await add_staff(app), await add_staff(app)
        reached, given_up = await new_task(dealer, app, client_for), await new_task(dealer, app, client_for)
        for task in (reached, given_up):
            assert (await dealer.post(f"/v1/follow-ups/{task['id']}/assign", json={"assignee": assignee})).status_code == 200
        await attempt(dealer, reached, reached=False, agent=colleague)
        done = (await attempt(dealer, reached, reached=True, satisfaction="dissatisfied", agent=colleague)).json()
        for _ in range(3):
            gone = (await attempt(dealer, given_up, reached=False, agent=colleague)).json()
        assert (done["status"], done["assignee"], gone["status"], gone["assignee"]) == (
            "done", assignee, "unreachable", assignee)
        for task in (reached, given_up):
            calls = (await dealer.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"]
            assert {a["agent"] for a in calls} == {colleague}
            contacts = (await dealer.get("/v1/interactions", params={"customer_id": task["customer_id"]})).json()["items"]
            assert {c["agent"] for c in contacts} == {colleague}
        [completed] = await events_of(app, "followup.completed", reached["id"])
        [unreachable] = await events_of(app, "followup.unreachable", given_up["id"])
        assert completed["data"]["assignee"] == unreachable["data"]["assignee"] == assignee
        [issue] = await events_of(app, "followup.issue_found", reached["id"])
        assert issue["data"]["agent"] == colleague  # the case names who heard the complaint
        facts = await followup_facts(dealer)
        assert (facts[reached["id"]]["assignee"], facts[given_up["id"]]["assignee"]) == (assignee, assignee)

    @pytest.mark.parametrize(("body", "field"), [
        ({"reached": True}, "satisfaction"),  # a call's answer is measured
        ({"reached": False, "satisfaction": "neutral"}, "satisfaction"),
        ({"reached": True, "satisfaction": "neutral", "issue_codes": ["price"]}, "issue_codes"),
        ({"reached": True, "satisfaction": "dissatisfied", "issue_codes": ["price", "price"]}, "issue_codes"),
        ({"reached": True, "satisfaction": "dissatisfied", "issue_codes": ["Not Fixed"]}, "issue_codes"),
        ({"reached": True, "satisfaction": "angry"}, "satisfaction"),
        ({"reached": False, "channel": "fax"}, "channel"),
        ({"reached": False, "agent": "NOBODY"}, "agent"),
        ({"reached": "maybe"}, "reached"),
        ({"reached": False, "note": "x" * 2001}, "note"),
    ])
    async def test_bad_attempts_are_422_naming_the_field_and_change_nothing(self, dealer, app, client_for, body,
                                                                            field) -> None:
        task = await new_task(dealer, app, client_for)
        answer = await attempt(dealer, task, **body)
        assert answer.status_code == 422, answer.text
        assert field in {e["field"].split(".")[0] for e in answer.json()["errors"]}
        after = (await dealer.get(f"/v1/follow-ups/{task['id']}")).json()
        assert (after["status"], after["attempts"]) == ("open", 0)
        assert (await dealer.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"] == []

    async def test_a_retired_agent_cannot_record_an_attempt(self, dealer, app, client_for) -> None:
        retired = await add_staff(app, active=False)
        task = await new_task(dealer, app, client_for)
        answer = await attempt(dealer, task, reached=False, agent=retired)
        assert answer.status_code == 422 and answer.json()["errors"] == [{"field": "agent", "message": "unknown staff member"}]

    async def test_a_greeting_reached_needs_no_satisfaction_and_is_a_care_contact(self, dealer, app) -> None:
        from datetime import date

        from services.customer.followups import create_birthday_followups

        customer = await create(dealer, birth_date="1980-07-09",  # a greeting needs marketing consent
                                consent={"survey": True, "marketing": True, "share_with_manufacturer": True})
        async with app.state.sessions() as session, session.begin():
            await create_birthday_followups(session, date(2032, 7, 9))
        [task] = await tasks(dealer, customer_id=customer["id"], kind="birthday")
        done = (await attempt(dealer, task, reached=True, channel="wechat")).json()
        assert done["status"] == "done" and done["result"]["satisfaction"] is None
        [contact] = (await dealer.get("/v1/interactions", params={"customer_id": customer["id"]})).json()["items"]
        assert (contact["reason"], contact["channel"]) == ("care", "wechat")


class TestProspectCalls:
    async def test_a_reached_prospect_call_schedules_the_next_on_the_same_list(self, dealer, app, client_for) -> None:
        agent = await add_staff(app, role="sales_consultant")
        prospect = (await dealer.post("/v1/prospects", json={"name": "Lead Zhao", "level": "A"})).json()
        await deliver(app, client_for, "prospect.created", "prospect_id", prospect["id"], times=1)
        [first] = [t for t in await tasks(dealer, kind="prospect") if t["prospect_id"] == prospect["id"]]
        await dealer.post(f"/v1/follow-ups/{first['id']}/assign", json={"assignee": agent})
        assert (await attempt(dealer, first, reached=True, satisfaction="neutral")).json()["status"] == "done"
        [following] = [t for t in await tasks(dealer, kind="prospect", status="open") if t["prospect_id"] == prospect["id"]]
        assert following["assignee"] == agent
        [contact] = (await dealer.get("/v1/interactions", params={"prospect_id": prospect["id"]})).json()["items"]
        assert contact["reason"] == "follow_up" and contact["agent"] == agent


class TestLegacyComplete:
    async def test_complete_counts_as_reached(self, dealer, app, client_for) -> None:
        task = await new_task(dealer, app, client_for)
        done = (await dealer.post(f"/v1/follow-ups/{task['id']}/complete", json={"outcome": "called"})).json()
        assert done["status"] == "done" and done["result"] == {"reached": True, "satisfaction": None, "issue_codes": []}
        [event] = await events_of(app, "followup.completed", task["id"])
        assert event["data"]["reached"] is True and event["data"]["outcome"] == "called"
        assert event["data"]["due_at"].startswith("2026-05-04T10:00:00")
        assert (await attempt(dealer, task, reached=False)).status_code == 409


class TestAssignment:
    async def test_assign_publishes_once_per_change(self, dealer, app, client_for) -> None:
        first, second = await add_staff(app), await add_staff(app)
        task = await new_task(dealer, app, client_for)
        url = f"/v1/follow-ups/{task['id']}/assign"
        for code in (first, first, second):
            answer = await dealer.post(url, json={"assignee": code})
            assert answer.status_code == 200 and answer.json()["assignee"] == code
        assert [e["data"]["assignee"] for e in await events_of(app, "followup.assigned", task["id"])] == [first, second]

    @pytest.mark.parametrize("body", [{}, {"assignee": ""}, {"assignee": "NOBODY"}, {"assignee": "X", "extra": 1}])
    async def test_bad_assignee_is_422(self, dealer, app, client_for, body) -> None:
        task = await new_task(dealer, app, client_for)
        assert (await dealer.post(f"/v1/follow-ups/{task['id']}/assign", json=body)).status_code == 422
        assert (await dealer.get(f"/v1/follow-ups/{task['id']}")).json()["assignee"] is None

    async def test_a_done_task_is_not_reassigned(self, dealer, app, client_for) -> None:
        agent = await add_staff(app)
        task = await new_task(dealer, app, client_for)
        await dealer.post(f"/v1/follow-ups/{task['id']}/complete", json={"outcome": "called"})
        assert (await dealer.post(f"/v1/follow-ups/{task['id']}/assign", json={"assignee": agent})).status_code == 409


class TestOtherDealers:
    async def test_a_sibling_cannot_read_assign_or_attempt_and_its_staff_are_unknown(self, dealer, app,
                                                                                     client_for) -> None:
        task = await new_task(dealer, app, client_for)
        sibling, theirs = client_for("DLR-0043"), await add_staff(app, "DLR-0043")
        base = f"/v1/follow-ups/{task['id']}"
        assert (await sibling.get(base)).status_code == 404
        assert (await sibling.get(f"{base}/attempts")).status_code == 404
        assert (await sibling.post(f"{base}/assign", json={"assignee": theirs})).status_code == 404
        assert (await attempt(sibling, task, reached=False)).status_code == 404
        assert task["id"] not in [t["id"] for t in await tasks(sibling, status="open")]
        # The sibling's staff code named on our task: unknown, like any other dealer's record.
        for url, body, field in ((f"{base}/assign", {"assignee": theirs}, "assignee"),
                                 (f"{base}/attempts", {"reached": False, "channel": "phone", "agent": theirs}, "agent")):
            answer = await dealer.post(url, json=body)
            assert answer.status_code == 422 and answer.json()["errors"] == [{"field": field, "message": "unknown staff member"}]
        after = (await dealer.get(base)).json()
        assert (after["status"], after["attempts"], after["assignee"]) == ("open", 0, None)

    async def test_the_parent_works_the_dealers_task(self, dealer, app, client_for) -> None:
        agent = await add_staff(app)
        task = await new_task(dealer, app, client_for)
        parent = client_for("D-NORTH")
        assert (await parent.post(f"/v1/follow-ups/{task['id']}/assign", json={"assignee": agent})).status_code == 200
        assert (await attempt(parent, task, reached=False)).status_code == 200
        assert len((await parent.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"]) == 1

    async def test_above_the_dealer_a_note_about_a_customer_who_does_not_share_is_withheld(
            self, dealer, app, client_for) -> None:
        customer = await create(dealer, consent={"survey": True, "marketing": False, "share_with_manufacturer": False})
        vin = vin_with_check_digit()
        await dealer.post("/v1/deliveries", json={"vin": vin, "customer_id": customer["id"], "dealer_code": "DLR-0042",
                                                  "delivered_at": "2026-05-01T10:00:00Z"})
        await deliver(app, client_for, "vehicle.delivered", "vin", vin, times=1)
        [task] = await tasks(dealer, customer_id=customer["id"])
        await attempt(dealer, task, reached=False, note="Mrs Li was at work")
        url = f"/v1/follow-ups/{task['id']}/attempts"
        assert (await dealer.get(url)).json()["items"][0]["note"] == "Mrs Li was at work"
        assert (await client_for("FTMS").get(url)).json()["items"][0]["note"] is None


class TestCallList:
    async def test_an_agents_call_list_is_ordered_by_due_time_and_filtered(self, dealer, app, client_for) -> None:
        agent, other = await add_staff(app), await add_staff(app)
        late = await new_task(dealer, app, client_for, delivered_at="2026-07-03T08:00:00Z")
        early = await new_task(dealer, app, client_for, delivered_at="2026-07-01T08:00:00Z")
        middle = await new_task(dealer, app, client_for, delivered_at="2026-07-02T08:00:00Z")
        theirs = await new_task(dealer, app, client_for, delivered_at="2026-07-01T09:00:00Z")
        done = await new_task(dealer, app, client_for, delivered_at="2026-07-01T10:00:00Z")
        for task, code in ((late, agent), (early, agent), (middle, agent), (theirs, other), (done, agent)):
            assert (await dealer.post(f"/v1/follow-ups/{task['id']}/assign", json={"assignee": code})).status_code == 200
        await dealer.post(f"/v1/follow-ups/{done['id']}/complete", json={"outcome": "called"})
        mine = await tasks(dealer, assignee=agent, status="open")
        assert [t["id"] for t in mine] == [early["id"], middle["id"], late["id"]]
        # Paged one at a time, the keyset on (due_at, id) gives the same order.
        seen, cursor = [], None
        while True:
            params = {"assignee": agent, "status": "open", "limit": 1} | ({"cursor": cursor} if cursor else {})
            page = (await dealer.get("/v1/follow-ups", params=params)).json()
            seen += [t["id"] for t in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == [early["id"], middle["id"], late["id"]]
        assert [t["id"] for t in await tasks(dealer, assignee=agent, status="open", due_before="2026-07-05T12:00:00Z")] == [
            early["id"], middle["id"]]
        assert [t["id"] for t in await tasks(dealer, assignee=agent, status="done")] == [done["id"]]
        assert await tasks(dealer, assignee=agent, kind="service") == []
        assert await tasks(client_for("DLR-0043"), assignee=agent) == []

    async def test_the_updated_since_feed_still_pages_by_change(self, dealer, app, client_for) -> None:
        task = await new_task(dealer, app, client_for, delivered_at="2020-01-01T00:00:00Z")
        since = task["updated_at"]
        await dealer.post(f"/v1/follow-ups/{task['id']}/complete", json={"outcome": "called"})
        feed = await tasks(dealer, updated_since=since)
        assert feed[-1]["id"] == task["id"] and feed[-1]["status"] == "done"
        times = [t["updated_at"] for t in feed]
        assert times == sorted(times)

    @pytest.mark.parametrize("params", [{"status": "lost"}, {"kind": "party"}, {"assignee": ""}, {"assignee": "a\x01"}])
    async def test_bad_filters_are_422(self, dealer, params) -> None:
        assert (await dealer.get("/v1/follow-ups", params=params)).status_code == 422


class TestConcurrentAttempts:
    async def test_two_dissatisfied_answers_at_once_complete_once_and_raise_one_issue(self, dealer, app,
                                                                                      client_for) -> None:
        import asyncio

        if app.state.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: the two transactions cannot overlap")
        task = await new_task(dealer, app, client_for)
        body = {"reached": True, "satisfaction": "dissatisfied", "issue_codes": ["attitude"]}
        answers = await asyncio.gather(attempt(dealer, task, **body), attempt(client_for("DLR-0042"), task, **body))
        assert sorted(a.status_code for a in answers) == [200, 409]
        assert len(await events_of(app, "followup.issue_found", task["id"])) == 1
        assert len((await dealer.get(f"/v1/follow-ups/{task['id']}/attempts")).json()["items"]) == 1
