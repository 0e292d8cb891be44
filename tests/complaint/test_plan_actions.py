"""A complaint's corrective action taken into an improvement plan (KPI service): the plan reads it
through `/internal/complaints/{id}/corrective-action` with its caller's token, and
`improvement.action_done` naming the complaint marks it done on the case."""

import uuid
from datetime import UTC, datetime

import httpx

from tests.complaint.conftest import as_, deliver
from tests.complaint.test_cases_api import RESOLUTION, case_in


async def test_the_corrective_action_is_read_in_the_callers_scope(client: httpx.AsyncClient) -> None:
    case = await case_in(client, "resolved")
    url = f"/internal/complaints/{case['id']}/corrective-action"
    for caller in ("D1", "DN", "OEM"):
        answer = await client.get(url, headers=as_(caller, frozenset({"kpi:write"})))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"complaint_id": case["id"], "dealer_code": "D1", "org_path": "/OEM/DN/D1/",
                                 "corrective_action": RESOLUTION["corrective_action"]}
    for caller in ("D2", "DS"):
        assert (await client.get(url, headers=as_(caller))).status_code == 404
    fresh = await case_in(client, "new")
    answer = await client.get(f"/internal/complaints/{fresh['id']}/corrective-action", headers=as_("D1"))
    assert answer.json()["corrective_action"] is None


async def test_a_done_plan_action_shows_on_the_complaint(client: httpx.AsyncClient) -> None:
    case = await case_in(client, "resolved")
    plan_id, done_at = uuid.uuid4(), datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    data = {"org_code": "D1", "org_path": "/OEM/DN/D1/", "plan_id": str(plan_id), "action_index": 0,
            "description": "Road test after every NVH repair", "complaint_id": case["id"], "done_at": done_at.isoformat()}
    assert await deliver(client, "improvement.action_done", data, source="/csloop/kpi") == "applied"
    read = (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D1"))).json()
    corrective = read["resolution"]["corrective_action"]
    assert corrective == {**RESOLUTION["corrective_action"], "done_at": done_at.isoformat(), "plan_id": str(plan_id)}
    assert read["version"] == case["version"] + 1
    assert read["timeline"][-1]["kind"] == "corrective_action_done"


async def test_an_action_done_without_a_complaint_changes_no_case(client: httpx.AsyncClient) -> None:
    case = await case_in(client, "resolved")
    data = {"org_code": "D1", "org_path": "/OEM/DN/D1/", "plan_id": str(uuid.uuid4()), "action_index": 1,
            "description": "Own action", "done_at": datetime.now(UTC).isoformat()}
    assert await deliver(client, "improvement.action_done", data, source="/csloop/kpi") == "applied"
    assert (await client.get(f"/v1/complaints/{case['id']}", headers=as_("D1"))).json()["version"] == case["version"]
