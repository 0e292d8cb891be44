"""Webhooks: subscriptions per org subtree, Standard Webhooks signatures verified as a DMS
would, retries with backoff, 410 disables, delivery history, private targets refused."""

import asyncio
import json
import uuid

import pytest
from standardwebhooks import Webhook

from gateway.settings import GatewaySettings
from tests.gateway.conftest import OrgTree, bearer
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
        hook = await subscribe(net, "dlr11", receiver.answer(where), ["complaint.created", "survey."])
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
