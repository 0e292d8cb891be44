"""Cases over HTTP: opening, every legal and illegal move, If-Match, concurrency, resolution and closing."""

import asyncio
import re
from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from tests.complaint.conftest import as_, move, open_case, opened, outbox_events

PATH = {
    "new": [],
    "acknowledged": ["acknowledged"],
    "in_progress": ["acknowledged", "in_progress"],
    "awaiting_customer": ["acknowledged", "in_progress", "awaiting_customer"],
    "resolved": ["acknowledged", "in_progress", "resolved"],
}
ALLOWED = {
    "new": ["acknowledged"], "acknowledged": ["in_progress"], "in_progress": ["awaiting_customer", "resolved"],
    "awaiting_customer": ["in_progress"], "resolved": ["closed", "reopened"], "closed": ["reopened"],
}
TARGETS = ("acknowledged", "in_progress", "awaiting_customer", "resolved", "closed", "reopened")
RESOLUTION = {"summary": "Redid the repair, apologised", "root_cause": {"category": "process", "text": "No road test"},
              "actions": ["apology", "redo"], "compensation_minor": 20000,
              "corrective_action": {"description": "Road test after every NVH repair", "owner": "Service manager",
                                    "due": "2026-12-31"}, "customer_agrees": True}


async def case_in(client: httpx.AsyncClient, status: str) -> dict:
    """A fresh case in `status`; resolved and closed ones carry a complete resolution."""
    case = await opened(client)
    for step in PATH["resolved" if status == "closed" else status]:
        assert (await move(client, case, step)).status_code == 200
    if status in ("resolved", "closed"):
        assert (await resolve(client, case)).status_code == 200
    if status == "closed":
        assert (await move(client, case, "closed")).status_code == 200
    return case


async def resolve(client: httpx.AsyncClient, case: dict, body: dict | None = None) -> httpx.Response:
    answer = await client.put(f"/v1/complaints/{case['id']}/resolution", json=body or RESOLUTION,
                              headers=as_("D1", if_match=f'"v{case["version"]}"'))
    if answer.status_code == 200:
        case.update(answer.json())
    return answer


class TestOpening:
    async def test_open_returns_number_status_and_due_times(self, client: httpx.AsyncClient) -> None:
        answer = await open_case(client, ro_number="RO-1", assignee="Li Lei")
        assert answer.status_code == 201, answer.text
        case = answer.json()
        assert re.fullmatch(r"CMP-\d{4}-\d{6}", case["number"])
        assert case["status"] == "new" and case["handling_org_code"] == "D1" and case["escalation_level"] == 0
        opened_at = datetime.fromisoformat(case["opened_at"])
        assert datetime.fromisoformat(case["first_response_due"]) - opened_at == timedelta(hours=8)
        assert datetime.fromisoformat(case["resolution_due"]) - opened_at == timedelta(days=7)
        assert answer.headers["ETag"] == '"v1"'
        assert case["timeline"][0]["kind"] == "opened" and case["timeline"][0]["actor"] == {"subject": "user-D1", "org_code": "D1"}

    async def test_bad_input_and_a_dealer_out_of_reach_are_422(self, client: httpx.AsyncClient) -> None:
        assert (await open_case(client, priority="P9")).status_code == 422
        assert (await open_case(client, channel="fax")).status_code == 422
        assert (await open_case(client, vin="NOTAVIN")).status_code == 422
        # API.md: a body field naming an org out of reach is a 422 "unknown dealer", like an unknown one.
        for code in ("D2", "NOPE"):
            answer = await open_case(client, code, caller="D1")
            assert answer.status_code == 422
            assert answer.json()["errors"] == [{"field": "dealer_code", "message": "unknown dealer"}]

    async def test_list_filters(self, client: httpx.AsyncClient) -> None:
        case = await opened(client, "D2", category="price_billing")
        answer = await client.get("/v1/complaints", params={"category": "price_billing", "dealer_code": "D2",
                                                            "customer_id": case["customer_id"], "status": "new"},
                                  headers=as_("DN"))
        assert [item["id"] for item in answer.json()["items"]] == [case["id"]]
        breached = await client.get("/v1/complaints", params={"breached": "true", "customer_id": case["customer_id"]},
                                    headers=as_("DN"))
        assert breached.json()["items"] == []


class TestTransitions:
    async def test_every_legal_move_succeeds_and_every_illegal_one_is_409_naming_the_allowed(
            self, client: httpx.AsyncClient) -> None:
        for status in ALLOWED:
            for target in TARGETS:
                case = await case_in(client, status)
                answer = await move(client, case, target, note=f"{status} -> {target}")
                if target in ALLOWED[status]:
                    assert answer.status_code == 200, (status, target, answer.text)
                    expected = "in_progress" if target == "reopened" else target
                    assert answer.json()["status"] == expected
                    assert answer.json()["timeline"][-1]["note"] == f"{status} -> {target}"
                else:
                    assert answer.status_code == 409, (status, target, answer.text)
                    assert answer.json()["allowed"] == ALLOWED[status]

    async def test_reopening_counts_and_publishes(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        case = await case_in(client, "closed")
        assert (await move(client, case, "reopened")).status_code == 200
        assert case["reopen_count"] == 1 and case["closed_at"] is None
        assert (await move(client, case, "resolved")).status_code == 200
        assert (await move(client, case, "reopened")).status_code == 200
        assert case["reopen_count"] == 2
        resolved = [e for e in await outbox_events(app, "complaint.resolved") if e["complaint_id"] == case["id"]]
        assert len(resolved) == 2 and resolved[1]["reopen_count"] == 1
        assert {"complaint_id", "dealer_code", "org_path", "customer_id", "vin", "resolved_at"} <= resolved[0].keys()
        closed = [e for e in await outbox_events(app, "complaint.closed") if e["complaint_id"] == case["id"]]
        assert closed[0]["customer_agrees"] is True and closed[0]["root_cause"]["category"] == "process"

    async def test_first_response_is_met_by_acknowledging(self, client: httpx.AsyncClient) -> None:
        case = await case_in(client, "acknowledged")
        assert case["first_responded_at"] is not None

    async def test_every_event_says_whether_the_case_is_open_and_when_it_was_first_answered(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        case = await case_in(client, "closed")
        assert (await move(client, case, "reopened")).status_code == 200
        events = [(type_, e) for type_ in ("complaint.opened", "complaint.status_changed", "complaint.resolved",
                                           "complaint.closed")
                  for e in await outbox_events(app, type_) if e["complaint_id"] == case["id"]]
        (opened_event,) = [e for type_, e in events if type_ == "complaint.opened"]
        assert opened_event["is_open"] is True and opened_event["first_responded_at"] is None
        changes = [e for type_, e in events if type_ == "complaint.status_changed"]
        assert [(e["from_status"], e["to_status"], e["is_open"]) for e in changes] == [
            ("new", "acknowledged", True), ("acknowledged", "in_progress", True), ("in_progress", "resolved", False),
            ("resolved", "closed", False), ("closed", "in_progress", True)]  # reopened: open again
        answered = datetime.fromisoformat(changes[0]["first_responded_at"])
        assert answered == datetime.fromisoformat(case["first_responded_at"])
        # The first response stays the one it was, through resolution, closing and reopening.
        assert all(datetime.fromisoformat(e["first_responded_at"]) == answered for type_, e in events
                   if type_ != "complaint.opened")
        assert all(e["is_open"] is False for type_, e in events if type_ in ("complaint.resolved", "complaint.closed"))

    async def test_waiting_on_the_customer_moves_resolution_due_later(self, client: httpx.AsyncClient) -> None:
        case = await case_in(client, "awaiting_customer")
        due_before = datetime.fromisoformat(case["resolution_due"])
        assert case["clock_running"] is False
        await asyncio.sleep(1.1)
        assert (await move(client, case, "in_progress")).status_code == 200
        stopped, resumed = [datetime.fromisoformat(e["at"]) for e in case["timeline"][-2:]]
        moved = datetime.fromisoformat(case["resolution_due"]) - due_before
        assert abs(moved - (resumed - stopped)) < timedelta(seconds=1) and moved >= timedelta(seconds=1)
        assert case["clock_running"] is True


class TestIfMatch:
    async def test_changes_need_if_match_and_a_stale_one_is_412(self, client: httpx.AsyncClient) -> None:
        case = await opened(client)
        url = f"/v1/complaints/{case['id']}/transitions"
        assert (await client.post(url, json={"to": "acknowledged"}, headers=as_("D1"))).status_code == 428
        assert (await move(client, case, "acknowledged")).status_code == 200
        stale = await client.post(url, json={"to": "in_progress"}, headers=as_("D1", if_match='"v1"'))
        assert stale.status_code == 412 and stale.headers["ETag"] == '"v2"'
        comment = await client.post(f"/v1/complaints/{case['id']}/comments", json={"text": "Called the customer"},
                                    headers=as_("D1", if_match='"v2"'))
        assert comment.status_code == 201 and comment.json()["timeline"][-1]["note"] == "Called the customer"
        assert comment.headers["ETag"] == '"v3"'

    async def test_twenty_concurrent_changes_with_one_etag_exactly_one_wins(self, client: httpx.AsyncClient) -> None:
        case = await opened(client)
        url = f"/v1/complaints/{case['id']}/comments"
        answers = await asyncio.gather(*[
            client.post(url, json={"text": f"note {n}"}, headers=as_("D1", if_match='"v1"')) for n in range(20)])
        assert sorted(answer.status_code for answer in answers) == [201] + [412] * 19
        final = await client.get(f"/v1/complaints/{case['id']}", headers=as_("D1"))
        assert final.headers["ETag"] == '"v2"'
        assert [e["kind"] for e in final.json()["timeline"]] == ["opened", "comment"]

    async def test_thirty_concurrent_opens_get_unique_gapless_numbers(self, client: httpx.AsyncClient) -> None:
        answers = await asyncio.gather(*[open_case(client, "D2") for _ in range(30)])
        assert all(answer.status_code == 201 for answer in answers), [a.text for a in answers if a.status_code != 201]
        numbers = sorted(int(answer.json()["number"].rsplit("-", 1)[1]) for answer in answers)
        assert numbers == list(range(numbers[0], numbers[0] + 30))


class TestResolution:
    async def test_closing_without_root_cause_or_customer_answer_is_409_naming_them(
            self, client: httpx.AsyncClient) -> None:
        case = await case_in(client, "in_progress")
        assert (await move(client, case, "resolved")).status_code == 200
        answer = await move(client, case, "closed")
        assert answer.status_code == 409 and answer.json()["missing"] == ["root_cause", "customer_agrees"]
        assert (await resolve(client, case, {**RESOLUTION, "customer_agrees": None})).status_code == 200
        answer = await move(client, case, "closed")
        assert answer.status_code == 409 and answer.json()["missing"] == ["customer_agrees"]
        assert (await resolve(client, case, {**RESOLUTION, "customer_agrees": False})).status_code == 200
        assert (await move(client, case, "closed")).status_code == 200
        assert case["resolution"]["customer_agrees"] is False and case["closed_at"]

    async def test_resolution_is_validated_and_final_once_closed(self, client: httpx.AsyncClient) -> None:
        case = await case_in(client, "in_progress")
        bad = await resolve(client, case, {**RESOLUTION, "root_cause": {"category": "weather", "text": "x"}})
        assert bad.status_code == 422
        bad = await resolve(client, case, {**RESOLUTION, "actions": ["bribe"]})
        assert bad.status_code == 422
        closed = await case_in(client, "closed")
        assert (await resolve(client, closed)).status_code == 409
