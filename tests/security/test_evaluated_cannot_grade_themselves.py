"""Issue 10, finding 5 (survey part): the dealer a survey grades cannot grade itself.

- Third-party results go into a survey only through the organisation that owns it: a dealer
  (or a distributor) with `surveys:write` importing all-10 results into the manufacturer's
  CSI gets a 403 and nothing is stored.
- An invitation to a survey owned above the caller comes without `token` and `url`, on
  creation and on every read, so the dealer cannot answer it for its customer.
- Its `survey.invitation.sent` (which carries the link) reaches the survey owner's webhooks
  only, never a dealer's below it.
"""

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.settings import GatewaySettings
from shared.contracts import survey as contract
from shared.events import new_event
from tests.gateway.conftest import OrgTree, bearer
from tests.gateway.integrations.conftest import (gateway, hooks_database_url, hooks_settings, net,  # noqa: F401
                                                 publish, receiver)
from tests.gateway.integrations.receiver import Receiver
from tests.survey.conftest import (app, as_, client, database_url, give_consent, new_code,  # noqa: F401
                                   outbox_events, published_survey)

ALL_TENS = {"nps": 10}


@pytest.fixture(scope="module")
async def oem_survey(client: httpx.AsyncClient) -> str:
    return (await published_survey(client, {"template": "nps", "code": new_code()}, owner="OEM"))["id"]


def _rows(count: int, dealer: str = "D1") -> list[dict[str, Any]]:
    return [{"external_id": "fake-" + uuid.uuid4().hex[:12], "dealer_code": dealer,
             "submitted_at": "2026-01-02T10:00:00+08:00", "answers": ALL_TENS} for _ in range(count)]


async def _import(client: httpx.AsyncClient, survey_id: str, rows: list[dict[str, Any]], caller: str) -> httpx.Response:
    return await client.post("/v1/survey-responses/import", json={"survey_id": survey_id, "responses": rows},
                             headers=as_(caller))


async def _stored(client: httpx.AsyncClient, survey_id: str) -> list[dict[str, Any]]:
    listed = await client.get("/v1/survey-responses", params={"survey_id": survey_id, "limit": 500}, headers=as_("OEM"))
    return listed.json()["items"]


async def _invite(client: httpx.AsyncClient, survey_id: str, caller: str = "D1") -> httpx.Response:
    customer_id = uuid.uuid4()
    await give_consent(client, customer_id, "D1")
    invited = await client.post("/v1/survey-invitations", headers=as_(caller), json={
        "survey_id": survey_id, "customer_id": str(customer_id), "dealer_code": "D1", "channel": "sms"})
    assert invited.status_code == 201, invited.text
    return invited


class TestImportBelongsToTheSurveyOwner:
    async def test_a_dealer_cannot_import_results_about_itself_into_the_manufacturers_survey(
            self, client: httpx.AsyncClient, oem_survey: str) -> None:
        rows = _rows(40)
        answer = await _import(client, oem_survey, rows, "D1")
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        stored = {item["external_id"] for item in await _stored(client, oem_survey)}
        assert not stored & {row["external_id"] for row in rows}

    async def test_a_distributor_between_cannot_either(self, client: httpx.AsyncClient, oem_survey: str) -> None:
        assert (await _import(client, oem_survey, _rows(1), "DN")).status_code == 403

    async def test_an_invisible_survey_is_404(self, client: httpx.AsyncClient) -> None:
        other = (await published_survey(client, {"template": "nps", "code": new_code()}, owner="D2"))["id"]
        assert (await _import(client, other, _rows(1), "D1")).status_code == 404

    async def test_the_owner_imports(self, client: httpx.AsyncClient, oem_survey: str) -> None:
        rows = _rows(2)
        answer = await _import(client, oem_survey, rows, "OEM")
        assert answer.status_code == 200 and answer.json()["created"] == 2, answer.text
        own = (await published_survey(client, {"template": "nps", "code": new_code()}, owner="D1"))["id"]
        assert (await _import(client, own, _rows(1), "D1")).json()["created"] == 1


class TestLinksOfASurveyOwnedAbove:
    async def test_the_dealer_never_sees_the_token_or_url(self, client: httpx.AsyncClient, oem_survey: str) -> None:
        created = (await _invite(client, oem_survey)).json()
        assert created["token"] is None and created["url"] is None
        for caller in ("D1", "DN"):
            one = await client.get(f"/v1/survey-invitations/{created['id']}", headers=as_(caller))
            assert one.status_code == 200 and one.json()["url"] is None, caller
            listed = await client.get("/v1/survey-invitations", params={"survey_id": oem_survey, "limit": 500},
                                      headers=as_(caller))
            assert listed.json()["items"] and all(item["url"] is None for item in listed.json()["items"]), caller

    async def test_the_owner_sees_the_link(self, client: httpx.AsyncClient, oem_survey: str) -> None:
        created = (await _invite(client, oem_survey)).json()
        read = await client.get(f"/v1/survey-invitations/{created['id']}", headers=as_("OEM"))
        assert read.json()["url"].startswith("https://csloop.example/s/")
        by_owner = (await _invite(client, oem_survey, caller="OEM")).json()
        assert by_owner["token"] and by_owner["url"].endswith("/s/" + by_owner["token"])

    async def test_a_dealer_sees_the_links_of_its_own_survey(self, client: httpx.AsyncClient) -> None:
        own = (await published_survey(client, {"template": "nps", "code": new_code()}, owner="D1"))["id"]
        created = (await _invite(client, own)).json()
        assert created["token"] and created["url"].endswith("/s/" + created["token"])

    async def test_the_event_names_the_survey_owner(self, client: httpx.AsyncClient, app: FastAPI,
                                                    oem_survey: str) -> None:
        created = (await _invite(client, oem_survey)).json()
        (sent,) = [e for e in await outbox_events(app, contract.INVITATION_SENT) if e["invitation_id"] == created["id"]]
        assert (sent["survey_org_code"], sent["survey_org_path"]) == ("OEM", "/OEM/")
        assert sent["org_path"] == "/OEM/DN/D1/"


class TestInvitationEventGoesToTheOwnersWebhooksOnly:
    async def test_a_dealer_webhook_does_not_receive_the_manufacturers_invitation(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        root = f"/{net.codes['root']}/"
        dealer = f"{root}{net.codes['d1']}/{net.codes['dlr11']}/"
        hooks = {}
        for label in ("root", "d1", "dlr11"):
            where = f"/dms/{uuid.uuid4().hex}"
            answer = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys[label]), json={
                "url": receiver.answer(where), "event_types": ["survey."], "org_code": net.codes[label]})
            assert answer.status_code == 201, answer.text
            hooks[label] = (where, answer.json()["id"])
        payload = contract.InvitationSent(
            dealer_code=net.codes["dlr11"], org_path=dealer, survey_id=uuid.uuid4(), survey_code="csi",
            survey_org_code=net.codes["root"], survey_org_path=root, survey_version=1, kind="csi",
            customer_id=uuid.uuid4(), invitation_id=uuid.uuid4(), channel="sms", url="https://csloop.example/s/secret",
            sent_at="2026-01-02T10:00:00+00:00", expires_at="2026-01-16T10:00:00+00:00")  # type: ignore[arg-type]
        sent = new_event(contract.SOURCE, contract.INVITATION_SENT, "survey-invitations/x", payload.model_dump(mode="json"))
        reminded = new_event(contract.SOURCE, contract.INVITATION_REMINDED, "survey-invitations/x",
                             payload.model_dump(mode="json"))
        # A response event of the same dealer still reaches the dealer (only link-bearing events are the owner's).
        response = new_event(contract.SOURCE, contract.RESPONSE_SUBMITTED, "survey-responses/x",
                             {"org_path": dealer, "dealer_code": net.codes["dlr11"]})
        await publish(net.client, hooks_settings, sent, reminded, response)

        owner_got = await receiver.wait_for(hooks["root"][0], 3)
        assert sorted(json.loads(request.body)["type"] for request in owner_got) == sorted(
            [contract.INVITATION_SENT, contract.INVITATION_REMINDED, contract.RESPONSE_SUBMITTED])
        dealer_got = await receiver.wait_for(hooks["dlr11"][0], 1)
        assert [json.loads(request.body)["type"] for request in dealer_got] == [contract.RESPONSE_SUBMITTED]
        for label in ("d1", "dlr11"):
            listed = await net.client.get(f"/v1/webhooks/{hooks[label][1]}/deliveries",
                                          headers=bearer(net.admin_keys[label]))
            assert {d["event_type"] for d in listed.json()["items"]} == {contract.RESPONSE_SUBMITTED}, label

    async def test_an_invitation_event_without_an_owner_reaches_no_webhook(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        dealer = f"/{net.codes['root']}/{net.codes['d1']}/{net.codes['dlr11']}/"
        where = f"/dms/{uuid.uuid4().hex}"
        answer = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
            "url": receiver.answer(where), "event_types": ["survey."], "org_code": net.codes["dlr11"]})
        hook_id = answer.json()["id"]
        await publish(net.client, hooks_settings, new_event(contract.SOURCE, contract.INVITATION_SENT, "x", {
            "org_path": dealer, "url": "https://csloop.example/s/secret"}))
        listed = await net.client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=bearer(net.admin_keys["dlr11"]))
        assert listed.json()["items"] == []
