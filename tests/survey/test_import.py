"""Third-party results import: scored like a public submission, backdated, idempotent, row errors."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.db import utcnow
from tests.survey.conftest import ORGS, as_, give_consent, invite, new_code, outbox_events, published_survey, token_of

MATRIX = {"appointment": 8, "greeting": 9}
ANSWERS: dict[str, Any] = {
    "initiation": MATRIX, "advisor": {"courtesy": 9, "honesty": 8, "knowledge": 7, "understanding": 9, "explaining": 8},
    "facility": {"cleanliness": 10, "comfort": 7, "amenities": 6},
    "pickup": {"on_time": 9, "explanation": 8, "payment": 10, "cleanliness": 7},
    "quality": {"diagnosis": 9, "fixed_right": 9, "complete": 10}, "fixed_first_time": "yes", "nps": 9,
}
DETRACTOR = {**ANSWERS, "quality": {"diagnosis": 2, "fixed_right": 2, "complete": 3}, "fixed_first_time": "no",
             "nps": 3, "nps_reason": "Had to come back twice"}


@pytest.fixture(scope="module")
async def csi(client: httpx.AsyncClient) -> dict[str, Any]:
    return await published_survey(client, {"template": "csi", "code": new_code()})


def _row(**extra: Any) -> dict[str, Any]:
    return {"external_id": "ext-" + uuid.uuid4().hex[:10], "dealer_code": "D1",
            "submitted_at": "2025-03-14T10:30:00+08:00", "answers": ANSWERS, **extra}


async def _import(client: httpx.AsyncClient, survey_id: str, rows: list[dict[str, Any]],
                  caller: str = "OEM") -> httpx.Response:
    return await client.post("/v1/survey-responses/import", json={"survey_id": survey_id, "responses": rows},
                             headers=as_(caller))


async def _stored(client: httpx.AsyncClient, survey_id: str, external_id: str) -> dict[str, Any]:
    answer = await client.get("/v1/survey-responses", params={"survey_id": survey_id, "limit": 200}, headers=as_("OEM"))
    return next(item for item in answer.json()["items"] if item["external_id"] == external_id)


class TestImport:
    async def test_scores_equal_a_public_submissions_and_submitted_at_is_kept(
            self, client: httpx.AsyncClient, app: FastAPI, csi: dict[str, Any]) -> None:
        invitation = await invite(client, csi["id"])
        public = await client.post(f"/v1/public/surveys/{await token_of(client, invitation)}/responses",
                                   json={"answers": ANSWERS})
        assert public.status_code == 201, public.text
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        row = _row(ro_number="RO-1", vin="LFV3A23C7K3012345", customer_id=str(customer_id))
        answer = await _import(client, csi["id"], [row])
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"created": 1, "duplicates": 0, "failed": 0, "errors": []}

        stored = await _stored(client, csi["id"], row["external_id"])
        assert stored["scores"] == public.json()["scores"]
        assert stored["invitation_id"] is None and stored["dealer_code"] == "D1" and stored["ro_number"] == "RO-1"
        assert datetime.fromisoformat(stored["submitted_at"]) == datetime(2025, 3, 14, 2, 30, tzinfo=UTC)
        event = next(e for e in await outbox_events(app, "survey.response.submitted")
                     if e["response_id"] == stored["id"])
        assert datetime.fromisoformat(event["submitted_at"]) == datetime(2025, 3, 14, 2, 30, tzinfo=UTC)
        assert event["invitation_id"] is None and event["org_path"] == ORGS["D1"]["path"]
        assert event["scores"]["index"] == pytest.approx(stored["scores"]["index"], abs=0.05)

    async def test_a_detractor_raises_an_alert_like_a_public_submission(
            self, client: httpx.AsyncClient, app: FastAPI, csi: dict[str, Any]) -> None:
        row = _row(answers=DETRACTOR)
        assert (await _import(client, csi["id"], [row])).json()["created"] == 1
        stored = await _stored(client, csi["id"], row["external_id"])
        assert {reason["rule"] for reason in stored["alerts"]} >= {"nps_detractor", "critical_answer"}
        alert = next(e for e in await outbox_events(app, "survey.alert.raised") if e["response_id"] == stored["id"])
        assert alert["priority"] == "P1" and alert["submitted_at"].startswith("2025-03-14T02:30")

    async def test_a_replay_is_a_duplicate_and_changes_nothing(self, client: httpx.AsyncClient, app: FastAPI,
                                                              csi: dict[str, Any]) -> None:
        rows = [_row(), _row()]
        assert (await _import(client, csi["id"], rows)).json()["created"] == 2
        before = len(await outbox_events(app, "survey.response.submitted"))
        changed = {**rows[0], "answers": DETRACTOR}
        again = await _import(client, csi["id"], [changed, rows[1], _row(external_id=rows[1]["external_id"])])
        assert again.json() == {"created": 0, "duplicates": 3, "failed": 0, "errors": []}
        assert len(await outbox_events(app, "survey.response.submitted")) == before
        assert (await _stored(client, csi["id"], rows[0]["external_id"]))["answers"]["nps"] == 9

    async def test_the_same_external_id_twice_in_one_request_is_stored_once(
            self, client: httpx.AsyncClient, csi: dict[str, Any]) -> None:
        row = _row()
        answer = await _import(client, csi["id"], [row, {**row, "answers": DETRACTOR}])
        assert answer.json() == {"created": 1, "duplicates": 1, "failed": 0, "errors": []}

    async def test_bad_rows_are_reported_with_row_and_field_and_good_rows_kept(
            self, client: httpx.AsyncClient, csi: dict[str, Any]) -> None:
        rows = [
            _row(),
            _row(answers={**ANSWERS, "nps": 11}),
            _row(submitted_at="2025-03-14T10:30:00"),  # no offset
            _row(submitted_at=(utcnow() + timedelta(hours=1)).isoformat()),
            {"dealer_code": "D1", "submitted_at": "2025-03-14T10:30:00+08:00", "answers": ANSWERS},
            _row(answers={k: v for k, v in ANSWERS.items() if k != "quality"}),
            _row(vin="not-a-vin"),
            _row(),
        ]
        answer = await _import(client, csi["id"], rows)
        body = answer.json()
        assert answer.status_code == 200, answer.text
        assert (body["created"], body["duplicates"], body["failed"]) == (2, 0, 6)
        fields = {(e["row"], e["field"]) for e in body["errors"]}
        assert {(2, "answers.nps"), (3, "submitted_at"), (4, "submitted_at"), (5, "external_id"),
                (7, "vin")} <= fields
        assert any(row == 6 and field.startswith("answers.quality") for row, field in fields)
        future = next(e for e in body["errors"] if e["row"] == 4)
        assert "future" in future["message"]

    async def test_a_dealer_outside_the_callers_subtree_is_a_row_error(self, client: httpx.AsyncClient) -> None:
        own = await published_survey(client, {"template": "csi", "code": new_code()}, owner="D1")
        rows = [_row(dealer_code="D2"), _row(dealer_code="NOPE"), _row(dealer_code="DN"), _row(dealer_code="D1")]
        body = (await _import(client, own["id"], rows, caller="D1")).json()
        assert (body["created"], body["failed"]) == (1, 3)
        assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "dealer_code"), (2, "dealer_code"),
                                                                   (3, "dealer_code")]

    async def test_a_survey_of_another_dealer_is_404_and_a_draft_409(self, client: httpx.AsyncClient) -> None:
        own = await published_survey(client, {"template": "csi", "code": new_code()}, owner="D2")
        assert (await _import(client, own["id"], [_row()], caller="D1")).status_code == 404
        draft = await client.post("/v1/surveys", json={"template": "ssi", "code": new_code()}, headers=as_("OEM"))
        answer = await _import(client, draft.json()["id"], [_row()])
        assert answer.status_code == 409 and answer.json()["reason"] == "not_published"

    async def test_write_scope_and_a_bounded_body(self, client: httpx.AsyncClient, csi: dict[str, Any]) -> None:
        read_only = await client.post("/v1/survey-responses/import", json={"survey_id": csi["id"], "responses": [_row()]},
                                      headers=as_("OEM", frozenset({"surveys:read"})))
        assert read_only.status_code == 403
        too_many = await _import(client, csi["id"], [_row()] * 5001)
        assert too_many.status_code == 422
        assert (await _import(client, csi["id"], [])).status_code == 422
