"""`?updated_since=` on the survey lists (surveys, invitations, responses): a delta feed by
(updated_at, id), in the caller's scope, whatever wrote the change (the API, the public page,
an erasure)."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from services.survey.models import SurveyResponse
from tests.survey.conftest import as_, deliver, invite, new_code, published_survey, token_of

pytestmark = pytest.mark.asyncio

LISTS = ("/v1/surveys", "/v1/survey-invitations", "/v1/survey-responses")


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


SURVEY = {
    "kind": "custom", "title": _t("Feed"), "factors": [{"code": "main", "title": _t("Main"), "weight": 1}],
    "questions": [{"code": "q1", "type": "rating", "text": _t("How was it?"), "scale_min": 1, "scale_max": 5,
                   "factor": "main", "required": True}],
}


def now() -> str:
    return datetime.now(UTC).isoformat()


async def feed(client: httpx.AsyncClient, path: str, caller: str, since: str, limit: int = 2,
               **params: str) -> list[dict]:
    """Every item of the feed, page by page."""
    items, cursor = [], None
    while True:
        answer = await client.get(path, headers=as_(caller), params={
            "updated_since": since, "limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            return items


async def answered(client: httpx.AsyncClient, survey_id: str, dealer: str = "D1") -> tuple[dict, str]:
    """An invitation (as created) and the id of its response, answered on the public page."""
    invited = await invite(client, survey_id, dealer)
    token = await token_of(client, invited)
    submitted = await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 4}})
    assert submitted.status_code == 201, submitted.text
    return invited.json(), submitted.json()["id"]


async def test_surveys_changed_since_in_update_order(client: httpx.AsyncClient) -> None:
    old = await published_survey(client, SURVEY, owner="D1")
    since = now()
    created = [await client.post("/v1/surveys", json={"code": new_code(), **SURVEY}, headers=as_("D1"))
               for _ in range(3)]
    first, second, third = [answer.json() for answer in created]
    edited = await client.patch(f"/v1/surveys/{first['id']}", json={"title": _t("Edited")},
                                headers={**as_("D1"), "If-Match": '"v1"'})
    assert edited.status_code == 200, edited.text
    items = [item["id"] for item in await feed(client, "/v1/surveys", "D1", since, kind="custom")]
    assert items == [second["id"], third["id"], first["id"]] and old["id"] not in items
    assert await feed(client, "/v1/surveys", "D1", since, kind="custom") == await feed(
        client, "/v1/surveys", "D1", since, limit=50, kind="custom")


async def test_invitations_changed_since_in_update_order_the_answered_one_last(client: httpx.AsyncClient) -> None:
    survey_id = (await published_survey(client, SURVEY))["id"]
    old = (await invite(client, survey_id)).json()
    since = now()
    first = await invite(client, survey_id)
    second, third = (await invite(client, survey_id)).json(), (await invite(client, survey_id)).json()
    token = await token_of(client, first)
    # The public page claims the invitation straight on the driver: that write moves it too.
    assert (await client.post(f"/v1/public/surveys/{token}/responses", json={"answers": {"q1": 5}})).status_code == 201
    items = await feed(client, "/v1/survey-invitations", "D1", since, survey_id=survey_id)
    assert [item["id"] for item in items] == [second["id"], third["id"], first.json()["id"]]
    assert old["id"] not in [item["id"] for item in items] and items[-1]["status"] == "responded"
    assert [item["updated_at"] for item in items] == sorted(item["updated_at"] for item in items)
    plain = (await client.get("/v1/survey-invitations", headers=as_("D1"), params={"survey_id": survey_id})).json()
    assert [item["id"] for item in plain["items"]] == [old["id"], first.json()["id"], second["id"], third["id"]]


async def test_responses_changed_since_and_an_erasure_moves_one(client: httpx.AsyncClient, app) -> None:  # noqa: ANN001
    survey_id = (await published_survey(client, SURVEY))["id"]
    _, old = await answered(client, survey_id)
    since = now()
    (_, first), (_, second), (_, third) = [await answered(client, survey_id) for _ in range(3)]
    ids = [item["id"] for item in await feed(client, "/v1/survey-responses", "D1", since, survey_id=survey_id)]
    assert ids == [first, second, third] and old not in ids
    # The customer service's erasure unlinks the old response: it comes back, last.
    customer_id = (await client.get(f"/v1/survey-responses/{old}", headers=as_("D1"))).json()["customer_id"]
    assert await deliver(client, "customer.erased", {
        "customer_id": customer_id, "dealer_code": "D1", "org_path": "/OEM/DN/D1/", "erased_at": now()}) == "applied"
    items = await feed(client, "/v1/survey-responses", "D1", since, survey_id=survey_id)
    assert [item["id"] for item in items] == [first, second, third, old] and items[-1]["customer_id"] is None
    async with app.state.sessions() as session:
        kept = await session.get(SurveyResponse, uuid.UUID(old))
        assert kept.updated_at > kept.created_at


@pytest.mark.parametrize("path", LISTS)
async def test_a_cursor_of_one_ordering_is_refused_by_the_other(client: httpx.AsyncClient, path: str) -> None:
    survey_id = (await published_survey(client, SURVEY))["id"]
    await answered(client, survey_id)
    await answered(client, survey_id)
    plain_cursor = (await client.get(path, headers=as_("OEM"), params={"limit": 1})).json()["next_cursor"]
    refused = await client.get(path, headers=as_("OEM"), params={
        "limit": 1, "cursor": plain_cursor, "updated_since": "2000-01-01T00:00:00Z"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("value", ["2026-01-01T00:00:00", "yesterday", "0001-01-01T00:00:00+01:00",
                                   "9999-12-31T23:59:59-01:00"])
async def test_a_time_without_offset_or_out_of_range_is_a_422_problem(
        client: httpx.AsyncClient, path: str, value: str) -> None:
    answer = await client.get(path, headers=as_("D1"), params={"updated_since": value})
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"].endswith("updated_since")


async def test_a_sibling_dealers_records_never_appear(client: httpx.AsyncClient) -> None:
    since = now()
    own_survey = (await client.post("/v1/surveys", json={"code": new_code(), **SURVEY}, headers=as_("D2"))).json()
    invitation, response = await answered(client, (await published_survey(client, SURVEY))["id"], "D2")
    theirs = {"/v1/surveys": own_survey["id"], "/v1/survey-invitations": invitation["id"],
              "/v1/survey-responses": response}
    for path, record in theirs.items():
        assert record not in [item["id"] for item in await feed(client, path, "D1", since, limit=50)], path
        assert record in [item["id"] for item in await feed(client, path, "DN", since, limit=50)], path
