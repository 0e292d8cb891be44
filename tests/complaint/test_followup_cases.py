"""followup.issue_found: a dissatisfied follow-up call opens exactly one case (issue 14): channel
follow_up, P3, category from the issue codes, linked by `followup_id`, however often or however
concurrently the event arrives."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.complaint.domain import category_for_issues
from shared.db import utcnow
from tests.complaint.conftest import ORGS, VIN, as_, deliver, outbox_events

pytestmark = pytest.mark.asyncio

ISSUE_FOUND = "followup.issue_found"


def issue(dealer: str = "D1", **extra: Any) -> dict[str, Any]:
    return {"dealer_code": dealer, "org_path": ORGS[dealer]["path"], "followup_id": str(uuid.uuid4()), "kind": "service",
            "customer_id": str(uuid.uuid4()), "vin": VIN, "ro_number": "RO-FU-1", "issue_codes": ["not_fixed"],
            "note": "The noise from the front axle is back", "agent": "CR01", "found_at": utcnow().isoformat(), **extra}


async def found(client: httpx.AsyncClient, data: dict[str, Any], event_id: str | None = None) -> str:
    return await deliver(client, ISSUE_FOUND, data, source="/csloop/customer", event_id=event_id)


async def cases_of(client: httpx.AsyncClient, data: dict[str, Any]) -> list[dict[str, Any]]:
    listed = await client.get("/v1/complaints", params={"customer_id": data["customer_id"], "limit": 500},
                              headers=as_(data["dealer_code"]))
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


class TestOneCase:
    async def test_the_case_is_a_p3_follow_up_case_linked_to_the_call(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        data = issue()
        assert await found(client, data) == "applied"
        [case] = await cases_of(client, data)
        assert (case["channel"], case["priority"], case["category"], case["status"]) == ("follow_up", "P3", "repair_quality", "new")
        assert case["followup_id"] == data["followup_id"]
        assert (case["customer_id"], case["vin"], case["ro_number"]) == (data["customer_id"], VIN, "RO-FU-1")
        assert case["description"] == "The noise from the front axle is back\nIssue codes: not_fixed"
        assert case["first_response_due"] < case["resolution_due"] and case["clock_running"] is True
        read = (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D1"))).json()
        assert read["followup_id"] == data["followup_id"]
        assert read["timeline"][0]["data"]["followup_id"] == data["followup_id"]
        [event] = [e for e in await outbox_events(app, "complaint.opened") if e["complaint_id"] == case["id"]]
        assert event["followup_id"] == data["followup_id"] and event["channel"] == "follow_up"

    async def test_delivered_twice_or_republished_it_opens_one_case(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        data, event_id = issue(), str(uuid.uuid4())
        assert await found(client, data, event_id) == "applied"
        assert await found(client, data, event_id) == "duplicate"
        assert await found(client, data) == "applied"  # a new event id: the unique follow-up keeps it one
        assert len(await cases_of(client, data)) == 1
        opened = [e for e in await outbox_events(app, "complaint.opened") if e["followup_id"] == data["followup_id"]]
        assert len(opened) == 1

    async def test_consumers_racing_for_one_call_open_one_case_and_none_fails(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        data = issue(dealer="D2")
        outcomes = await asyncio.gather(*[found(client, data) for _ in range(6)])
        assert outcomes == ["applied"] * 6  # the losers found the winner's case: done, not an error to retry
        [case] = await cases_of(client, data)
        assert case["followup_id"] == data["followup_id"]
        opened = [e for e in await outbox_events(app, "complaint.opened") if e["followup_id"] == data["followup_id"]]
        assert len(opened) == 1
        # The losers' case numbers were rolled back with their attempt: the next case takes the next number.
        after = await client.post("/v1/complaints", headers=as_("D2"), json={
            "dealer_code": "D2", "channel": "hotline", "category": "other", "priority": "P4", "description": "next"})
        assert after.status_code == 201, after.text
        assert int(after.json()["number"].rsplit("-", 1)[1]) == int(case["number"].rsplit("-", 1)[1]) + 1

    async def test_a_sibling_dealer_does_not_see_the_case(self, client: httpx.AsyncClient) -> None:
        data = issue()
        await found(client, data)
        [case] = await cases_of(client, data)
        assert (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D2"))).status_code == 404
        assert (await client.get(f"/v1/complaints/{case['id']}", headers=as_("DN"))).status_code == 200


class TestCategoryAndDescription:
    @pytest.mark.parametrize(("codes", "category"), [
        (["not_fixed"], "repair_quality"), (["price"], "price_billing"), (["attitude"], "staff_attitude"),
        (["parts"], "parts_availability"), (["product"], "product_quality"), (["waiting_time"], "other"), ([], "other"),
        # Several: the first code that has a category, in the agent's order.
        (["waiting_time", "price", "not_fixed"], "price_billing"), (["attitude", "parts"], "staff_attitude"),
    ])
    async def test_issue_codes_decide_the_category(self, codes: list[str], category: str) -> None:
        assert category_for_issues(codes) == category

    async def test_several_codes_file_the_first_and_the_description_names_them_all(self, client: httpx.AsyncClient) -> None:
        data = issue(issue_codes=["waiting_time", "parts", "price"], note=None, kind="new_car")
        await found(client, data)
        [case] = await cases_of(client, data)
        assert case["category"] == "parts_availability"
        assert case["description"] == "Dissatisfied on the new car follow-up call; issue codes: waiting_time, parts, price"

    async def test_no_code_and_no_note_is_still_a_case_of_other(self, client: httpx.AsyncClient) -> None:
        data = issue(issue_codes=[], note="  ", customer_id=None, vin=None, ro_number=None,
                     prospect_id=str(uuid.uuid4()), kind="prospect")
        await found(client, data)
        listed = (await client.get("/v1/complaints", params={"category": "other", "limit": 500}, headers=as_("D1"))).json()
        [case] = [c for c in listed["items"] if c["followup_id"] == data["followup_id"]]
        assert case["customer_id"] is None and case["description"] == "Dissatisfied on the prospect follow-up call; no issue code given"


class TestTheApi:
    async def test_a_caller_may_file_a_follow_up_case_but_not_link_a_call(self, client: httpx.AsyncClient) -> None:
        body = {"dealer_code": "D1", "channel": "follow_up", "category": "price_billing", "priority": "P3",
                "description": "Told the agent the invoice was wrong"}
        made = await client.post("/v1/complaints", json=body, headers=as_("D1"))
        assert made.status_code == 201 and made.json()["followup_id"] is None
        linked = await client.post("/v1/complaints", json={**body, "followup_id": str(uuid.uuid4())}, headers=as_("D1"))
        assert linked.status_code == 422 and linked.headers["content-type"].startswith("application/problem+json")
