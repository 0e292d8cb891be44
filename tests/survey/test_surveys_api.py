"""Survey definitions over HTTP: templates, custom definitions, versions, who may use and edit them."""

import httpx

from tests.survey.conftest import as_, invite, new_code, published_survey, token_of


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


CUSTOM = {
    "kind": "custom", "title": _t("Quick"),
    "factors": [{"code": "main", "title": _t("Main"), "weight": 1}],
    "questions": [{"code": "q1", "type": "rating", "text": _t("How was it?"), "scale_min": 1, "scale_max": 5,
                   "factor": "main", "required": True}],
}


class TestTemplates:
    async def test_lists_the_four_required_templates(self, client: httpx.AsyncClient) -> None:
        answer = await client.get("/v1/survey-templates", headers=as_("D1"))
        assert answer.status_code == 200
        names = {template["name"] for template in answer.json()}
        assert {"csi", "ssi", "nps", "servqual"} <= names

    async def test_create_from_template(self, client: httpx.AsyncClient) -> None:
        answer = await client.post("/v1/surveys", json={"template": "ssi", "code": new_code()}, headers=as_("OEM"))
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["kind"] == "ssi" and body["published_version"] is None and body["org_path"] == "/OEM/"
        assert answer.headers["ETag"] == '"v1"'

    async def test_template_cannot_be_mixed_with_questions(self, client: httpx.AsyncClient) -> None:
        answer = await client.post("/v1/surveys", json={"template": "csi", "questions": CUSTOM["questions"]},
                                   headers=as_("OEM"))
        assert answer.status_code == 422


class TestDefinitions:
    async def test_invalid_definition_names_the_field(self, client: httpx.AsyncClient) -> None:
        body = {**CUSTOM, "code": new_code(), "questions": [{**CUSTOM["questions"][0], "factor": "nope"}]}
        answer = await client.post("/v1/surveys", json=body, headers=as_("OEM"))
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert {"field": "questions.0.factor", "message": "no factor 'nope' in this survey"} in answer.json()["errors"]

    async def test_both_languages_are_required(self, client: httpx.AsyncClient) -> None:
        answer = await client.post("/v1/surveys", json={**CUSTOM, "code": new_code(), "title": {"en": "Only"}},
                                   headers=as_("OEM"))
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"].startswith("title")

    async def test_duplicate_code_in_one_org_is_409(self, client: httpx.AsyncClient) -> None:
        code = new_code()
        assert (await client.post("/v1/surveys", json={**CUSTOM, "code": code}, headers=as_("OEM"))).status_code == 201
        answer = await client.post("/v1/surveys", json={**CUSTOM, "code": code}, headers=as_("OEM"))
        assert answer.status_code == 409


class TestVersions:
    async def test_edit_after_publish_makes_a_new_version_and_old_answers_keep_theirs(
            self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, CUSTOM)
        first = await token_of(client, await invite(client, survey["id"]))
        current = await client.get(f"/v1/surveys/{survey['id']}", headers=as_("OEM"))
        assert current.json()["published_version"] == 1 and current.json()["draft_changed"] is False

        question = {**CUSTOM["questions"][0], "scale_max": 10, "text": _t("Now on ten")}
        stale = await client.patch(f"/v1/surveys/{survey['id']}", json={"questions": [question]},
                                   headers={**as_("OEM"), "If-Match": '"v1"'})
        assert stale.status_code == 412
        edited = await client.patch(f"/v1/surveys/{survey['id']}", json={"questions": [question]},
                                    headers={**as_("OEM"), "If-Match": current.headers["ETag"]})
        assert edited.status_code == 200, edited.text
        v2 = await client.post(f"/v1/surveys/{survey['id']}/publish", headers=as_("OEM"))
        assert v2.json()["version"] == 2

        v1 = await client.get(f"/v1/surveys/{survey['id']}/versions/1", headers=as_("D1"))
        assert v1.json()["questions"][0]["scale_max"] == 5
        page = await client.get(f"/v1/public/surveys/{first}")
        assert page.json()["version"] == 1 and page.json()["questions"][0]["scale_max"] == 5
        answered = await client.post(f"/v1/public/surveys/{first}/responses", json={"answers": {"q1": 5}})
        assert answered.status_code == 201 and answered.json()["version"] == 1

        second = await invite(client, survey["id"])
        assert (await client.get(f"/v1/public/surveys/{await token_of(client, second)}")).json()["version"] == 2

    async def test_publishing_an_unchanged_draft_keeps_the_version(self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, CUSTOM)
        again = await client.post(f"/v1/surveys/{survey['id']}/publish", headers=as_("OEM"))
        assert again.json()["version"] == 1

    async def test_unpublished_survey_cannot_be_used(self, client: httpx.AsyncClient) -> None:
        draft = await client.post("/v1/surveys", json={**CUSTOM, "code": new_code()}, headers=as_("OEM"))
        answer = await invite(client, draft.json()["id"])
        assert answer.status_code == 409 and answer.json()["reason"] == "not_published"


class TestVisibility:
    async def test_manufacturer_survey_serves_dealers_below_but_dealers_cannot_edit_it(
            self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, CUSTOM, owner="OEM")
        assert (await client.get(f"/v1/surveys/{survey['id']}", headers=as_("D1"))).status_code == 200
        assert (await invite(client, survey["id"], "D2")).status_code == 201
        edit = await client.patch(f"/v1/surveys/{survey['id']}", json={"title": _t("Mine")},
                                  headers={**as_("D1"), "If-Match": '"v2"'})
        assert edit.status_code == 403

    async def test_dealer_survey_is_invisible_to_a_sibling_and_readable_above(self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, CUSTOM, owner="D1")
        assert (await client.get(f"/v1/surveys/{survey['id']}", headers=as_("D2"))).status_code == 404
        assert (await client.get(f"/v1/surveys/{survey['id']}", headers=as_("DN"))).status_code == 200
        assert (await invite(client, survey["id"], "D2", caller="D2")).status_code == 404
        listed = await client.get("/v1/surveys", params={"limit": 500}, headers=as_("D2"))
        assert survey["id"] not in {item["id"] for item in listed.json()["items"]}

    async def test_a_distributor_cannot_use_its_dealers_survey_for_another_dealer(
            self, client: httpx.AsyncClient) -> None:
        survey = await published_survey(client, CUSTOM, owner="D1")
        answer = await invite(client, survey["id"], "D2", caller="DN")
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["field"] == "survey_id"

    async def test_read_scope_is_needed(self, client: httpx.AsyncClient) -> None:
        answer = await client.get("/v1/survey-templates", headers=as_("D1", frozenset({"customers:read"})))
        assert answer.status_code == 403
        assert (await client.get("/v1/survey-templates")).status_code == 401
