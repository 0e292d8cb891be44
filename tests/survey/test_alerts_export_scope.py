"""Alert rules, the CSV export's formula neutralisation, and org scoping (BOLA) of responses and invitations."""

import csv
import io
import uuid

import httpx
from fastapi import FastAPI

from tests.survey.conftest import as_, give_consent, invite, outbox_events, published_survey, token_of


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


SURVEY = {
    "kind": "csi", "title": _t("Alerts"),
    "factors": [{"code": "main", "title": _t("Main"), "weight": 1}],
    "questions": [
        {"code": "q1", "type": "rating", "text": _t("Overall"), "scale_min": 1, "scale_max": 5, "factor": "main",
         "required": True},
        {"code": "fixed", "type": "single_choice", "text": _t("Fixed?"), "critical": {"equals": "no"},
         "options": [{"value": "yes", "label": _t("Yes")}, {"value": "no", "label": _t("No")}]},
        {"code": "nps", "type": "nps", "text": _t("Recommend?")},
        {"code": "note", "type": "text", "text": _t("Note")},
    ],
}


async def _answer(client: httpx.AsyncClient, survey_id: str, answers: dict, dealer: str = "D1") -> dict:
    token = await token_of(client, await invite(client, survey_id, dealer, context={"ro_number": "RO-9"}))
    answer = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": answers})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _alerts_for(app: FastAPI, response_id: str) -> list[dict]:
    return [e for e in await outbox_events(app, "survey.alert.raised") if e["response_id"] == response_id]


class TestAlerts:
    async def test_good_response_raises_nothing_and_submission_event_carries_scores(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey = await published_survey(client, SURVEY)
        response = await _answer(client, survey["id"], {"q1": 5, "fixed": "yes", "nps": 9})
        assert await _alerts_for(app, response["id"]) == []
        submitted = [e for e in await outbox_events(app, "survey.response.submitted") if e["response_id"] == response["id"]]
        assert submitted[0]["scores"]["index"] == 100.0 and submitted[0]["kind"] == "csi"
        assert submitted[0]["dealer_code"] == "D1" and submitted[0]["ro_number"] == "RO-9"
        assert submitted[0]["org_path"] == "/OEM/DN/D1/"

    async def test_low_index_alone_is_p3(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey = await published_survey(client, SURVEY)
        response = await _answer(client, survey["id"], {"q1": 2})  # 25 < 60
        [alert] = await _alerts_for(app, response["id"])
        assert [r["rule"] for r in alert["reasons"]] == ["index_below"] and alert["priority"] == "P3"
        assert alert["dealer_code"] == "D1" and alert["customer_id"]

    async def test_detractor_and_low_index_is_p2(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey = await published_survey(client, SURVEY)
        response = await _answer(client, survey["id"], {"q1": 1, "nps": 6})
        [alert] = await _alerts_for(app, response["id"])
        assert {r["rule"] for r in alert["reasons"]} == {"index_below", "nps_detractor"} and alert["priority"] == "P2"

    async def test_critical_answer_is_p1_and_shows_on_the_response(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey = await published_survey(client, SURVEY)
        response = await _answer(client, survey["id"], {"q1": 5, "fixed": "no", "nps": 10})
        [alert] = await _alerts_for(app, response["id"])
        assert alert["priority"] == "P1"
        assert alert["reasons"][0] == {"rule": "critical_answer", "question": "fixed", "detail": "critical answer to fixed"}
        stored = await client.get(f"/v1/survey-responses/{response['id']}", headers=as_("D1"))
        assert stored.json()["alerts"][0]["rule"] == "critical_answer"

    async def test_rules_are_per_survey(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        rules = {"index_below": 30, "nps_detractor": False, "critical_answers": False}
        survey = await published_survey(client, {**SURVEY, "alert_rules": rules})
        response = await _answer(client, survey["id"], {"q1": 2, "fixed": "no", "nps": 0})  # index 25 < 30
        [alert] = await _alerts_for(app, response["id"])
        assert [r["rule"] for r in alert["reasons"]] == ["index_below"]

    async def test_critical_matrix_row(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey = await published_survey(client, {"template": "csi"})
        answers = {"initiation": {"appointment": 9, "greeting": 9}, "advisor": dict.fromkeys(
            ["courtesy", "honesty", "knowledge", "understanding", "explaining"], 9),
            "facility": dict.fromkeys(["cleanliness", "comfort", "amenities"], 9),
            "pickup": dict.fromkeys(["on_time", "explanation", "payment", "cleanliness"], 9),
            "quality": {"diagnosis": 9, "fixed_right": 2, "complete": 9}, "fixed_first_time": "yes", "nps": 9}
        response = await _answer(client, survey["id"], answers)
        [alert] = await _alerts_for(app, response["id"])
        assert [r.get("question") for r in alert["reasons"]] == ["quality.fixed_right"]


class TestExport:
    async def test_formula_cells_are_neutralised_and_numbers_kept(self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, SURVEY)
        for note in ("=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)", "fine"):
            await _answer(client, survey["id"], {"q1": 4, "nps": 8, "note": note})
        answer = await client.get("/v1/survey-responses/export.csv", params={"survey_id": survey["id"]},
                                  headers=as_("D1"))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
        assert [row["answer:note"] for row in rows] == ["'=HYPERLINK(\"http://evil\")", "'+1", "'-2", "'@SUM(A1)", "fine"]
        assert {row["index"] for row in rows} == {"75.0"} and {row["factor:main"] for row in rows} == {"75.0"}
        assert {row["nps_category"] for row in rows} == {"passive"}


class TestScope:
    async def test_dealer_cannot_read_another_dealers_response_or_invitation(self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, SURVEY)
        response = await _answer(client, survey["id"], {"q1": 4}, dealer="D1")
        invitation = (await invite(client, survey["id"], "D1")).json()
        assert (await client.get(f"/v1/survey-responses/{response['id']}", headers=as_("D2"))).status_code == 404
        assert (await client.get(f"/v1/survey-invitations/{invitation['id']}", headers=as_("D2"))).status_code == 404
        assert (await client.get(f"/v1/survey-responses/{response['id']}", headers=as_("DN"))).status_code == 200
        assert (await client.get(f"/v1/survey-invitations/{invitation['id']}", headers=as_("D1"))).status_code == 200

    async def test_lists_and_export_show_only_the_callers_subtree(self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, SURVEY)
        mine = await _answer(client, survey["id"], {"q1": 4}, dealer="D1")
        theirs = await _answer(client, survey["id"], {"q1": 3}, dealer="D2")
        params = {"survey_id": survey["id"]}
        listed = await client.get("/v1/survey-responses", params=params, headers=as_("D2"))
        assert [item["id"] for item in listed.json()["items"]] == [theirs["id"]]
        asked_for_other = await client.get("/v1/survey-responses", params={**params, "dealer_code": "D1"},
                                           headers=as_("D2"))
        assert asked_for_other.json()["items"] == []
        exported = await client.get("/v1/survey-responses/export.csv", params=params, headers=as_("D2"))
        assert theirs["id"] in exported.text and mine["id"] not in exported.text
        above = await client.get("/v1/survey-responses", params=params, headers=as_("OEM"))
        assert {item["id"] for item in above.json()["items"]} == {mine["id"], theirs["id"]}

    async def test_response_list_filters_and_paginates(self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, SURVEY)
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        token = await token_of(client, await invite(client, survey["id"], customer_id=customer_id))
        await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 5}})
        for _ in range(2):
            await _answer(client, survey["id"], {"q1": 4})
        by_customer = await client.get("/v1/survey-responses", params={"customer_id": str(customer_id)},
                                       headers=as_("D1"))
        assert len(by_customer.json()["items"]) == 1
        first = await client.get("/v1/survey-responses", params={"survey_id": survey["id"], "limit": 2}, headers=as_("D1"))
        assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
        rest = await client.get("/v1/survey-responses", params={"survey_id": survey["id"], "limit": 2,
                                                                 "cursor": first.json()["next_cursor"]}, headers=as_("D1"))
        assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
        future = await client.get("/v1/survey-responses", params={"survey_id": survey["id"], "from": "2999-01-01T00:00:00Z"},
                                  headers=as_("D1"))
        assert future.json()["items"] == []

    async def test_a_time_without_offset_is_a_422_problem(self, client: httpx.AsyncClient) -> None:
        for path in ("/v1/survey-responses", "/v1/survey-responses/export.csv"):
            for name in ("from", "to"):
                answer = await client.get(path, params={name: "2026-01-01T00:00:00"}, headers=as_("D1"))
                assert answer.status_code == 422, (path, name, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert [error["field"] for error in answer.json()["errors"]] == [name]
