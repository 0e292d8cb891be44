"""Staff on survey records (issue 15): an API invitation's `context.staff` and an imported row's
`staff` are kept, copied onto the response, carried by every event and answered by the reads and
the KPI rebuild's facts; a code that is not a staff member of the record's dealer (another
dealer's, or not a code at all) is a 422 that stores nothing. The customer service's staff look-up
is a stand-in that knows D1's and D2's staff."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.survey.customer_source import CustomerSource
from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.support.databases import unit_database_url
from tests.survey.conftest import SECRET, as_, give_consent, invite, new_code, outbox_events, published_survey, survey_app, token_of
from tests.survey.test_import import DETRACTOR, _import, _row, _stored

SERVED = {"advisor": "SA07", "technician": "TE12", "sales_consultant": None}
STAFF = {"D1": {"SA07", "TE12"}, "D2": {"SA99"}}


def staff_lookup(request: httpx.Request) -> httpx.Response:
    """The customer service's /internal/staff/known for D1's and D2's staff; it knows no customer."""
    if request.url.path != "/internal/staff/known":
        return httpx.Response(404)
    body = json.loads(request.content)
    if len(body["codes"]) > 500:  # as the customer service's StaffCodesIn
        return httpx.Response(422)
    return httpx.Response(200, json={"known": sorted(set(body["codes"]) & STAFF.get(body["dealer_code"], set()))})


@pytest.fixture(scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    application = survey_app(await unit_database_url(tmp_path_factory, "survey_staff"))
    application.state.customers = CustomerSource("http://customer.test", transport=httpx.MockTransport(staff_lookup))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://survey") as http:
        yield http


@pytest.fixture(scope="module")
async def csi(client: httpx.AsyncClient) -> dict[str, Any]:
    return await published_survey(client, {"template": "csi", "code": new_code()})


async def _facts(client: httpx.AsyncClient, kind: str, key: str, value: str) -> dict[str, Any]:
    """The item of `/internal/facts/<kind>` whose `key` is `value` (every page read)."""
    headers = {INTERNAL_HEADER: mint_internal_token(system_principal(), SECRET)}
    cursor = None
    while True:
        page = (await client.get(f"/internal/facts/{kind}", params={"limit": 500} | ({"cursor": cursor} if cursor else {}),
                                 headers=headers)).json()
        if found := [item for item in page["items"] if item[key] == value]:
            return found[0]
        cursor = page["next_cursor"]
        assert cursor, f"{value} not in /internal/facts/{kind}"


async def test_an_api_invitations_staff_goes_onto_its_response_and_every_event(
        client: httpx.AsyncClient, app: FastAPI, csi: dict[str, Any]) -> None:
    invited = await invite(client, csi["id"], context={"ro_number": "RO-9", "staff": {"advisor": " SA07 ",
                                                                                        "technician": "TE12"}})
    assert invited.status_code == 201, invited.text
    invitation_id = invited.json()["id"]
    read = (await client.get(f"/v1/survey-invitations/{invitation_id}", headers=as_("D1"))).json()
    assert read["staff"] == SERVED
    sent = [e for e in await outbox_events(app, "survey.invitation.sent") if e["invitation_id"] == invitation_id]
    assert [e["staff"] for e in sent] == [SERVED]

    answered = await client.post(f"/v1/public/surveys/{await token_of(client, invited)}/responses",
                                 json={"answers": DETRACTOR})
    assert answered.status_code == 201, answered.text
    response_id = answered.json()["id"]
    submitted = [e for e in await outbox_events(app, "survey.response.submitted") if e["response_id"] == response_id]
    alerts = [e for e in await outbox_events(app, "survey.alert.raised") if e["response_id"] == response_id]
    assert [e["staff"] for e in submitted + alerts] == [SERVED, SERVED]
    response = (await client.get(f"/v1/survey-responses/{response_id}", headers=as_("D1"))).json()
    assert response["staff"] == SERVED
    assert (await _facts(client, "responses", "response_id", response_id))["staff"] == SERVED
    assert (await _facts(client, "alerts", "response_id", response_id))["staff"] == SERVED
    assert (await _facts(client, "invitations", "invitation_id", invitation_id))["staff"] == SERVED


async def test_an_invitation_without_staff_names_nobody(client: httpx.AsyncClient, app: FastAPI,
                                                        csi: dict[str, Any]) -> None:
    invited = await invite(client, csi["id"])
    assert invited.status_code == 201, invited.text
    read = (await client.get(f"/v1/survey-invitations/{invited.json()['id']}", headers=as_("D1"))).json()
    assert read["staff"] is None
    sent = [e for e in await outbox_events(app, "survey.invitation.sent") if e["invitation_id"] == invited.json()["id"]]
    assert [e["staff"] for e in sent] == [None]


async def test_an_imported_rows_staff_is_kept_and_published(client: httpx.AsyncClient, app: FastAPI,
                                                           csi: dict[str, Any]) -> None:
    row = _row(staff={"advisor": "SA07", "technician": "TE12"})
    nobody = _row()
    answer = await _import(client, csi["id"], [row, nobody])
    assert answer.json() == {"created": 2, "duplicates": 0, "failed": 0, "errors": []}
    stored = await _stored(client, csi["id"], row["external_id"])
    assert stored["staff"] == SERVED
    assert (await _stored(client, csi["id"], nobody["external_id"]))["staff"] is None
    submitted = [e for e in await outbox_events(app, "survey.response.submitted") if e["response_id"] == stored["id"]]
    assert [e["staff"] for e in submitted] == [SERVED]
    assert (await _facts(client, "responses", "response_id", stored["id"]))["staff"] == SERVED


async def _refused_and_not_stored(client: httpx.AsyncClient, survey_id: str,
                                  staff: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """(the invitation's 422 errors, the import's row errors) for bodies naming `staff`; neither stored."""
    customer_id = uuid.uuid4()
    await give_consent(client, customer_id)
    invited = await invite(client, survey_id, customer_id=customer_id, context={"staff": staff})
    assert invited.status_code == 422 and invited.headers["content-type"] == "application/problem+json", invited.text
    listed = await client.get("/v1/survey-invitations", params={"customer_id": str(customer_id)}, headers=as_("D1"))
    assert listed.json()["items"] == []
    row = _row(staff=staff)
    imported = await _import(client, survey_id, [row])
    assert imported.status_code == 200, imported.text
    assert (imported.json()["created"], imported.json()["failed"]) == (0, 1)
    answer = await client.get("/v1/survey-responses", params={"survey_id": survey_id, "limit": 200}, headers=as_("OEM"))
    assert row["external_id"] not in {item["external_id"] for item in answer.json()["items"]}
    return invited.json()["errors"], imported.json()["errors"]


@pytest.mark.parametrize("staff", [{"advisor": "A" * 1000}, {"technician": "TE\n12"}, {"advisor": ""},
                                   {"manager": "M1"}, {"advisor": 7}])
async def test_a_malformed_staff_code_is_a_422_and_nothing_is_stored(client: httpx.AsyncClient, csi: dict[str, Any],
                                                                     staff: dict[str, Any]) -> None:
    invited, imported = await _refused_and_not_stored(client, csi["id"], staff)
    role = next(iter(staff))
    assert [e["field"] for e in invited] == [f"context.staff.{role}"]
    assert [e["field"] for e in imported] == [f"staff.{role}"]


@pytest.mark.parametrize(("staff", "unknown"), [
    ({"advisor": "SA99"}, ["advisor"]),  # D2's advisor
    ({"advisor": "NOBODY"}, ["advisor"]),
    ({"advisor": "SA07", "technician": "SA99", "sales_consultant": "X1"}, ["technician", "sales_consultant"]),
])
async def test_a_code_that_is_not_the_dealers_staff_is_an_unknown_staff_member(
        client: httpx.AsyncClient, csi: dict[str, Any], staff: dict[str, Any], unknown: list[str]) -> None:
    invited, imported = await _refused_and_not_stored(client, csi["id"], staff)
    assert invited == [{"field": f"context.staff.{role}", "message": "unknown staff member"} for role in unknown]
    assert imported == [{"row": 1, "field": f"staff.{role}", "message": "unknown staff member"} for role in unknown]


async def test_an_import_naming_more_codes_than_one_look_up_takes_is_checked_in_batches(
        client: httpx.AsyncClient, csi: dict[str, Any]) -> None:
    rows = [_row(staff={"advisor": f"X{n:04d}"}) for n in range(600)] + [_row(staff=SERVED)]
    answer = await _import(client, csi["id"], rows)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["created"], answer.json()["failed"]) == (1, 600)
    assert {e["message"] for e in answer.json()["errors"]} == {"unknown staff member"}
