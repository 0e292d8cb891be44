"""Staff on survey records (issue 15): an API invitation's `context.staff` and an imported row's
`staff` are kept, copied onto the response, carried by every event and answered by the reads and
the KPI rebuild's facts; a staff code that is not one (too long, control characters) is a 422
that stores nothing."""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import INTERNAL_HEADER, mint_internal_token, system_principal
from tests.survey.conftest import SECRET, as_, give_consent, invite, new_code, outbox_events, published_survey, token_of
from tests.survey.test_import import DETRACTOR, _import, _row, _stored

SERVED = {"advisor": "SA07", "technician": "TE12", "sales_consultant": None}


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


@pytest.mark.parametrize("staff", [{"advisor": "A" * 1000}, {"technician": "TE\n12"}, {"advisor": ""},
                                   {"manager": "M1"}, {"advisor": 7}])
async def test_a_bad_staff_code_is_a_422_and_nothing_is_stored(client: httpx.AsyncClient, app: FastAPI,
                                                               csi: dict[str, Any], staff: dict[str, Any]) -> None:
    customer_id = uuid.uuid4()
    await give_consent(client, customer_id)
    invited = await invite(client, csi["id"], customer_id=customer_id, context={"staff": staff})
    assert invited.status_code == 422 and invited.headers["content-type"] == "application/problem+json", invited.text
    listed = await client.get("/v1/survey-invitations", params={"customer_id": str(customer_id)}, headers=as_("D1"))
    assert listed.json()["items"] == []
    row = _row(staff=staff)
    imported = await _import(client, csi["id"], [row])
    assert imported.status_code == 200, imported.text
    assert (imported.json()["created"], imported.json()["failed"]) == (0, 1)
    assert imported.json()["errors"][0]["field"].startswith("staff")
    answer = await client.get("/v1/survey-responses", params={"survey_id": csi["id"], "limit": 200}, headers=as_("OEM"))
    assert row["external_id"] not in {item["external_id"] for item in answer.json()["items"]}

