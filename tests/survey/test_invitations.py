"""Invitations and the public survey page: consent, fatigue, tokens used once, expiry."""

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from services.survey.models import Invitation
from shared.db import utcnow
from tests.survey.conftest import give_consent, invite, outbox_events, published_survey, token_of


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


SURVEY = {
    "kind": "custom", "title": _t("Quick"),
    "factors": [{"code": "main", "title": _t("Main"), "weight": 1}],
    "questions": [
        {"code": "q1", "type": "rating", "text": _t("How was it?"), "scale_min": 1, "scale_max": 5, "factor": "main",
         "required": True},
        {"code": "nps", "type": "nps", "text": _t("Recommend?")},
    ],
}


async def _survey(client: httpx.AsyncClient) -> str:
    return (await published_survey(client, SURVEY))["id"]


class TestCreate:
    async def test_invitation_has_a_long_token_a_link_and_a_14_day_expiry(
            self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey_id = await _survey(client)
        vin = "LFV3A23C7K3012345"
        answer = await invite(client, survey_id, caller="OEM", context={"ro_number": "RO-1", "vin": vin})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert len(body["token"]) >= 32  # token_urlsafe(24): 192 random bits
        assert body["url"] == f"https://csloop.example/s/{body['token']}"
        assert abs(utcnow() + timedelta(days=14) - _time(body["expires_at"])) < timedelta(minutes=1)
        sent = [e for e in await outbox_events(app, "survey.invitation.sent") if e["invitation_id"] == body["id"]]
        assert sent[0]["vin"] == vin and sent[0]["ro_number"] == "RO-1" and sent[0]["org_path"] == "/OEM/DN/D1/"
        assert sent[0]["url"] == body["url"] and sent[0]["channel"] == "sms"

    async def test_unknown_channel_and_bad_vin_are_422(self, client: httpx.AsyncClient) -> None:
        survey_id = await _survey(client)
        assert (await invite(client, survey_id, channel="fax")).status_code == 422
        bad = await invite(client, survey_id, context={"vin": "LFV3A23C1K3012340"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "context.vin"

    async def test_unknown_dealer_is_422(self, client: httpx.AsyncClient) -> None:
        answer = await invite(client, await _survey(client), "NOPE", caller="OEM")
        assert answer.status_code == 422  # API.md: a body field naming an unknown org
        assert answer.json()["errors"] == [{"field": "dealer_code", "message": "unknown dealer"}]


class TestConsentAndFatigue:
    async def test_a_customer_not_known_from_events_is_422_even_if_the_caller_vouches(
            self, client: httpx.AsyncClient) -> None:
        answer = await invite(client, await _survey(client), customer_id=uuid.uuid4(), consent_confirmed=True)
        assert answer.status_code == 422
        assert answer.json()["errors"] == [{"field": "customer_id", "message": "unknown customer"}]

    async def test_customer_who_refused_is_refused_even_if_caller_confirms(self, client: httpx.AsyncClient) -> None:
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id, survey=False)
        answer = await invite(client, await _survey(client), customer_id=customer_id, consent_confirmed=True)
        assert answer.status_code == 409 and answer.json()["reason"] == "no_consent"

    async def test_consent_from_customer_events_is_enough_and_updates_apply(self, client: httpx.AsyncClient) -> None:
        survey_id = await _survey(client)
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id, survey=False)
        await give_consent(client, customer_id, survey=True, type_="customer.updated")
        assert (await invite(client, survey_id, customer_id=customer_id, consent_confirmed=False)).status_code == 201

    async def test_second_invitation_within_30_days_is_refused(self, client: httpx.AsyncClient) -> None:
        survey_id = await _survey(client)
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        assert (await invite(client, survey_id, customer_id=customer_id)).status_code == 201
        again = await invite(client, await _survey(client), caller="OEM", customer_id=customer_id)
        assert again.status_code == 409 and again.json()["reason"] == "fatigue"

    async def test_invitation_older_than_30_days_does_not_count(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        survey_id = await _survey(client)
        customer_id = uuid.uuid4()
        await give_consent(client, customer_id)
        first = await invite(client, survey_id, customer_id=customer_id)
        await _shift_sent(app, first.json()["id"], days=31)
        assert (await invite(client, survey_id, customer_id=customer_id)).status_code == 201


class TestPublicPage:
    async def test_page_needs_no_credentials_and_hides_internal_rules(self, client: httpx.AsyncClient) -> None:
        token = await token_of(client, await invite(client, await _survey(client)))
        page = await client.get(f"/v1/public/surveys/{token}")
        assert page.status_code == 200
        body = page.json()
        assert body["kind"] == "custom" and body["version"] == 1 and body["dealer_code"] == "D1"
        assert "critical" not in body["questions"][0] and "alert_rules" not in body

    async def test_unknown_token_is_404_with_its_own_type(self, client: httpx.AsyncClient) -> None:
        answer = await client.get("/v1/public/surveys/not-a-token")
        assert answer.status_code == 404 and answer.json()["type"].endswith("/survey-link-unknown")

    async def test_token_is_used_once_and_a_replay_returns_the_first_result(self, client: httpx.AsyncClient) -> None:
        token = await token_of(client, await invite(client, await _survey(client)))
        first = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 4, "nps": 10}})
        assert first.status_code == 201, first.text
        assert first.json()["scores"] == {"index": 75.0, "factors": {"main": 75.0}, "nps_score": 10,
                                          "nps_category": "promoter", "servqual": None}
        replay = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 4, "nps": 10}})
        assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
        different = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 1}})
        assert different.status_code == 409 and different.json()["type"].endswith("/survey-already-answered")
        reread = await client.get(f"/v1/public/surveys/{token}")
        assert reread.status_code == 410 and reread.json()["type"].endswith("/survey-link-used")

    async def test_expired_token_is_410(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        invited = await invite(client, await _survey(client))
        invitation = {**invited.json(), "token": await token_of(client, invited)}
        async with app.state.sessions() as session, session.begin():
            await session.execute(update(Invitation).where(Invitation.id == uuid.UUID(invitation["id"]))
                                  .values(expires_at=utcnow() - timedelta(seconds=1)))
        page = await client.get(f"/v1/public/surveys/{invitation['token']}")
        assert page.status_code == 410 and page.json()["type"].endswith("/survey-link-expired")
        post = await client.post(f"/v1/public/surveys/{invitation['token']}/responses", json={"answers": {"q1": 4}})
        assert post.status_code == 410

    async def test_invalid_answers_are_422_and_leave_the_token_usable(self, client: httpx.AsyncClient) -> None:
        token = await token_of(client, await invite(client, await _survey(client)))
        bad = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 9, "zz": 1}})
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {"answers.q1", "answers.zz"}
        extra = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {}, "who": "me"})
        assert extra.status_code == 422
        good = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 1}})
        assert good.status_code == 201

    async def test_an_unknown_query_parameter_on_a_submission_is_a_422_and_leaves_the_token_usable(
            self, client: httpx.AsyncClient) -> None:
        """The submission's route skips FastAPI's dependency solving (api_public._RequestRoute); the
        app's query check still runs, before the transaction."""
        token = await token_of(client, await invite(client, await _survey(client)))
        refused = await client.post(f"/v1/public/surveys/{token}/responses", params={"colour": "red"},
                                    json={"answers": {"q1": 1}})
        assert refused.status_code == 422 and "colour" in refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        good = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 1}})
        assert good.status_code == 201


async def _shift_sent(app: FastAPI, invitation_id: str, *, days: int) -> None:
    async with app.state.sessions() as session, session.begin():
        await session.execute(update(Invitation).where(Invitation.id == uuid.UUID(invitation_id))
                              .values(sent_at=utcnow() - timedelta(days=days)))


def _time(value: str):  # noqa: ANN202
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))
