"""Webhooks: subscriptions per org subtree, Standard Webhooks signatures verified as a DMS
would, retries with backoff, 410 disables, delivery history, private targets refused."""

import asyncio
import json
import uuid

import pytest
from standardwebhooks import Webhook

from gateway.settings import GatewaySettings
from tests.gateway.conftest import OrgTree, bearer, free_port
from tests.gateway.integrations.conftest import org_event, publish
from tests.gateway.integrations.receiver import Receiver


async def subscribe(net: OrgTree, label: str, url: str, types: list[str] | None = None, *, by: str | None = None) -> dict:
    response = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys[by or label]), json={
        "url": url, "event_types": types or ["customer."], "org_code": net.codes[label]})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(net: OrgTree, label: str, webhook_id: str) -> list[dict]:
    response = await net.client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=bearer(net.admin_keys[label]))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def settled(net: OrgTree, label: str, webhook_id: str, timeout: float = 10.0) -> list[dict]:
    """The delivery history once no delivery is pending (the receiver answers before we record)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        items = await deliveries(net, label, webhook_id)
        if all(d["status"] != "pending" for d in items):
            return items
        assert asyncio.get_running_loop().time() < deadline, items
        await asyncio.sleep(0.05)


def path() -> str:
    return f"/dms/{uuid.uuid4().hex}"


class TestDelivery:
    async def test_delivery_verifies_with_standardwebhooks_and_carries_the_event(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where))
        assert hook["secret"].startswith("whsec_")
        event = org_event(net, "d1", "dlr11")
        await publish(net.client, hooks_settings, event)
        [request] = await receiver.wait_for(where, 1)
        payload = Webhook(hook["secret"]).verify(request.body, request.headers)
        assert payload["id"] == event.id and payload["type"] == "customer.created"
        assert payload["data"]["org_path"] == event.data["org_path"]
        assert request.headers["webhook-id"].startswith("msg_")
        with pytest.raises(Exception):
            Webhook("whsec_" + "A" * 43).verify(request.body, request.headers)

    async def test_subscriber_receives_only_its_subtree(self, net: OrgTree, receiver: Receiver,
                                                        hooks_settings: GatewaySettings) -> None:
        own, sibling, parent = path(), path(), path()
        await subscribe(net, "dlr11", receiver.answer(own))
        sibling_hook = await subscribe(net, "dlr12", receiver.answer(sibling))
        await subscribe(net, "d1", receiver.answer(parent))
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        await receiver.wait_for(own, 1)
        await receiver.wait_for(parent, 1)
        assert receiver.at(sibling) == []
        assert await deliveries(net, "dlr12", sibling_hook["id"]) == []

    async def test_event_types_filter_and_redelivered_event_is_sent_once(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where), ["complaint.opened", "survey."])
        wanted = org_event(net, "d1", "dlr11", type_="survey.response.submitted")
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11", type_="customer.created"), wanted)
        await publish(net.client, hooks_settings, wanted)  # the relay sends again after a lost answer
        await receiver.wait_for(where, 1)
        history = await settled(net, "dlr11", hook["id"])
        assert [(d["event_id"], d["status"]) for d in history] == [(wanted.id, "delivered")]
        assert len(receiver.at(where)) == 1


class TestRetries:
    async def test_500s_are_retried_with_growing_backoff_until_delivered(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where, 500, 503))
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        first, second, third = await receiver.wait_for(where, 3)
        # Schedule 0.3 s then 0.6 s, each +-20%.
        assert 0.24 <= second.at - first.at
        assert 0.48 <= third.at - second.at
        assert len({r.headers["webhook-id"] for r in (first, second, third)}) == 1
        [delivery] = await settled(net, "dlr11", hook["id"])
        assert delivery["status"] == "delivered" and delivery["attempts"] == 3
        assert [a["status_code"] for a in delivery["history"]] == [500, 503, 204]
        assert delivery["history"][0]["error"] == "HTTP 500"

    async def test_delivery_fails_after_the_schedule_is_used_up(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where, 500, 500, 500, 500, 500))
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        await receiver.wait_for(where, 4)
        [delivery] = await settled(net, "dlr11", hook["id"])
        assert (delivery["status"], delivery["attempts"], delivery["next_attempt_at"]) == ("failed", 4, None)

    async def test_410_gone_disables_the_subscription(self, net: OrgTree, receiver: Receiver,
                                                      hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where, 410))
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        await receiver.wait_for(where, 1)
        await settled(net, "dlr11", hook["id"])
        listed = (await net.client.get("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]))).json()["items"]
        [mine] = [item for item in listed if item["id"] == hook["id"]]
        assert mine["enabled"] is False and "410" in mine["disabled_reason"]
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        [delivery] = await deliveries(net, "dlr11", hook["id"])
        assert (delivery["status"], delivery["last_status_code"]) == ("failed", 410)
        assert len(receiver.at(where)) == 1


class TestSubscriptions:
    async def test_needs_webhooks_admin_and_an_org_of_the_callers_subtree(self, net: OrgTree, receiver: Receiver) -> None:
        body = {"url": receiver.url + path(), "event_types": ["customer."], "org_code": net.codes["dlr12"]}
        sibling = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json=body)
        assert sibling.status_code == 422
        assert sibling.json()["errors"] == [{"field": "org_code", "message": "unknown organisation"}]
        reader = await net.key_for("dlr12", ["customers:read"])
        assert (await net.client.post("/v1/webhooks", headers=bearer(reader), json=body)).status_code == 403

    async def test_list_shows_own_subtree_without_secrets_and_delete_stops_deliveries(
            self, net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where))
        by_parent = await net.client.get("/v1/webhooks", headers=bearer(net.admin_keys["d1"]))
        assert hook["id"] in [item["id"] for item in by_parent.json()["items"]]
        assert "secret" not in json.dumps(by_parent.json())
        by_sibling = await net.client.get("/v1/webhooks", headers=bearer(net.admin_keys["dlr12"]))
        assert hook["id"] not in [item["id"] for item in by_sibling.json()["items"]]
        gone = await net.client.delete(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr12"]))
        assert gone.status_code == 404
        deleted = await net.client.delete(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr11"]))
        assert deleted.status_code == 204
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        assert receiver.at(where) == []

    async def test_bad_event_type_is_422(self, net: OrgTree, receiver: Receiver) -> None:
        response = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
            "url": receiver.url, "event_types": ["Customer Created"], "org_code": net.codes["dlr11"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"].startswith("event_types")


async def listed_ids(net: OrgTree, label: str) -> list[str]:
    answer = await net.client.get("/v1/webhooks", headers=bearer(net.admin_keys[label]), params={"limit": 500})
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def read(net: OrgTree, label: str, webhook_id: str) -> dict:
    answer = await net.client.get(f"/v1/webhooks/{webhook_id}", headers=bearer(net.admin_keys[label]))
    assert answer.status_code == 200, answer.text
    return answer.json()


def refused_as_unknown_type(response, field: str) -> None:  # noqa: ANN001 - an httpx.Response
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == field and "unknown event type" in error["message"]


class TestEventTypes:
    async def test_a_type_outside_the_catalogue_is_refused_and_nothing_is_created(
            self, net: OrgTree, receiver: Receiver) -> None:
        before = await listed_ids(net, "dlr11")
        for types, field in ((["customer.created", "complaint.created"], "event_types.1"),  # no such event
                             (["prospect.created"], "event_types.0"),  # never reaches the gateway
                             (["customers."], "event_types.0")):  # a family with no event
            refused_as_unknown_type(await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
                "url": receiver.answer(path()), "event_types": types, "org_code": net.codes["dlr11"]}), field)
        assert await listed_ids(net, "dlr11") == before

    async def test_types_families_and_star_of_the_catalogue_are_taken(self, net: OrgTree, receiver: Receiver) -> None:
        hook = await subscribe(net, "dlr11", receiver.answer(path()), ["survey.invitation.", "complaint.opened", "*"])
        assert hook["event_types"] == ["*", "complaint.opened", "survey.invitation."]

    async def test_an_update_with_an_unknown_type_changes_nothing(self, net: OrgTree, receiver: Receiver) -> None:
        hook = await subscribe(net, "dlr11", receiver.answer(path()), ["customer."])
        answer = await net.client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr11"]),
                                        json={"url": receiver.answer(path()), "event_types": ["customer.", "nope.x"]})
        refused_as_unknown_type(answer, "event_types.1")
        refused_url = await net.client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr11"]),
                                             json={"url": "ftp://dms.example/hook", "event_types": ["survey."]})
        assert refused_url.status_code == 422 and refused_url.json()["errors"][0]["field"] == "url"
        unchanged = await read(net, "dlr11", hook["id"])
        assert (unchanged["url"], unchanged["event_types"]) == (hook["url"], ["customer."])


class TestReadAndUpdate:
    async def test_one_webhook_is_read_in_its_subtree_only_and_never_with_its_secret(
            self, net: OrgTree, receiver: Receiver) -> None:
        hook = await subscribe(net, "dlr11", receiver.answer(path()))
        for label in ("dlr11", "d1"):
            shown = await read(net, label, hook["id"])
            assert shown["id"] == hook["id"] and shown["event_types"] == ["customer."]
            assert "secret" not in shown and hook["secret"] not in json.dumps(shown)
        sibling = await net.client.get(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr12"]))
        assert sibling.status_code == 404
        assert sibling.headers["content-type"].startswith("application/problem+json")
        unknown = await net.client.get(f"/v1/webhooks/{uuid.uuid4()}", headers=bearer(net.admin_keys["dlr11"]))
        assert unknown.status_code == 404

    async def test_update_changes_types_and_url_and_the_sibling_cannot(self, net: OrgTree, receiver: Receiver,
                                                                      hooks_settings: GatewaySettings) -> None:
        first, second = path(), path()
        hook = await subscribe(net, "dlr11", receiver.answer(first), ["survey."])
        body = {"url": receiver.answer(second), "event_types": ["customer.created"]}
        sibling = await net.client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr12"]), json=body)
        assert sibling.status_code == 404
        updated = await net.client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["d1"]), json=body)
        assert updated.status_code == 200, updated.text
        assert (updated.json()["url"], updated.json()["event_types"]) == (body["url"], ["customer.created"])
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        [request] = await receiver.wait_for(second, 1)
        Webhook(hook["secret"]).verify(request.body, request.headers)  # the secret survives an update
        assert receiver.at(first) == []

    async def test_a_webhook_disabled_by_410_is_enabled_again(self, net: OrgTree, receiver: Receiver,
                                                              hooks_settings: GatewaySettings) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where, 410))
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        await receiver.wait_for(where, 1)
        await settled(net, "dlr11", hook["id"])
        assert (await read(net, "dlr11", hook["id"]))["enabled"] is False
        # A disabled webhook can still be tested: whether the endpoint is back before enabling it.
        tested = await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(net.admin_keys["dlr11"]))
        assert tested.json()["delivered"] is True and len(receiver.at(where)) == 2
        enabled = await net.client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr11"]),
                                         json={"enabled": True})
        assert (enabled.json()["enabled"], enabled.json()["disabled_reason"]) == (True, None)
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
        await receiver.wait_for(where, 3)
        assert [d["status"] for d in await settled(net, "dlr11", hook["id"])] == ["failed", "delivered"]
        disabled = await net.client.patch(f"/v1/webhooks/{hook['id']}", headers=bearer(net.admin_keys["dlr11"]),
                                          json={"enabled": False})
        assert disabled.json()["enabled"] is False and "Disabled by" in disabled.json()["disabled_reason"]
        await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))  # fanned out before it answers
        assert len(await deliveries(net, "dlr11", hook["id"])) == 2


class TestTestSend:
    async def test_a_signed_ping_reaches_the_target_and_its_answer_is_reported(
            self, net: OrgTree, receiver: Receiver) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where, 503))
        refused = await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(net.admin_keys["dlr11"]))
        assert refused.status_code == 200, refused.text
        assert refused.json()["delivered"] is False
        assert (refused.json()["status_code"], refused.json()["error"]) == (503, "HTTP 503")
        answer = await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(net.admin_keys["d1"]))
        result = answer.json()
        assert (result["delivered"], result["status_code"], result["error"]) == (True, 204, None)
        assert result["webhook_id"] == hook["id"] and result["duration_ms"] >= 0
        first, second = receiver.at(where)
        assert second.headers["webhook-id"] == result["message_id"] != first.headers["webhook-id"]
        # Signed as every delivery is: a DMS verifies a ping with the subscription's secret.
        ping = Webhook(hook["secret"]).verify(second.body, second.headers)
        assert ping["type"] == "webhook.ping" and ping["data"]["webhook_id"] == hook["id"]
        assert await deliveries(net, "dlr11", hook["id"]) == []  # a ping is not an event's delivery

    async def test_an_unreachable_target_is_reported_not_raised(self, net: OrgTree, receiver: Receiver) -> None:
        hook = await subscribe(net, "dlr11", f"http://127.0.0.1:{free_port()}/gone")
        result = (await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(net.admin_keys["dlr11"]))).json()
        assert (result["delivered"], result["status_code"]) == (False, None)
        assert "Connect" in result["error"]

    async def test_another_orgs_webhook_is_404_and_nothing_is_sent(self, net: OrgTree, receiver: Receiver) -> None:
        where = path()
        hook = await subscribe(net, "dlr11", receiver.answer(where))
        sibling = await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(net.admin_keys["dlr12"]))
        assert sibling.status_code == 404
        reader = await net.key_for("dlr11", ["customers:read"])
        assert (await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(reader))).status_code == 403
        assert receiver.at(where) == []
