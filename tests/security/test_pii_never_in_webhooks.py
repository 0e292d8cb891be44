"""Finding 1 (events and webhooks): events between services carry ids, never contact data, and
the gateway relays an event's data to webhooks as it is, so no path takes a phone or e-mail
to a webhook. A customer.created/updated delivery, to the dealer's own subscription and to
one above it, both made by keys holding `pii:read`, names the customer by id only.
"""

import json
import uuid

import pytest
from standardwebhooks import Webhook

from csloop_sdk import CSLoop
from tests.gateway.integrations.receiver import start_receiver
from tests.support.suite import Network

pytestmark = pytest.mark.e2e

EMAIL = "chen.jing@example.com"


async def test_customer_webhooks_carry_no_contact_data(network: Network) -> None:
    receiver, runner = await start_receiver()
    try:
        distributor = network.org("distributor")
        dealer = network.org("dealer", distributor)
        hooks = {}
        for org, where in ((dealer, "/dealer"), (distributor, "/distributor")):
            with CSLoop(network.url, api_key=org.key) as api:
                hooks[where] = api.webhooks.create(url=receiver.answer(where), event_types=["customer."], org_code=org.code)
        phone, new_phone = (f"139{uuid.uuid4().int % 10**8:08d}" for _ in range(2))
        created = dealer.client.post("/v1/customers", json={
            "dealer_code": dealer.code, "name": "陈静", "phone": phone, "email": EMAIL, "birth_date": "1990-01-02",
            "consent": {"survey": True, "marketing": False, "share_with_manufacturer": True}})
        assert created.status_code == 201, created.text
        updated = dealer.client.patch(f"/v1/customers/{created.json()['id']}", headers={"If-Match": '"v1"'},
                                      json={"phone": new_phone, "email": "c." + EMAIL})
        assert updated.status_code == 200, updated.text
        for where, hook in hooks.items():
            requests = await receiver.wait_for(where, 2, timeout=30)
            events = [Webhook(hook.secret).verify(request.body, request.headers) for request in requests]
            assert sorted(event["type"] for event in events) == ["customer.created", "customer.updated"]
            for event, request in zip(events, requests):
                assert event["data"]["customer_id"] == created.json()["id"]
                assert not {"name", "phone", "email", "birth_date"} & set(event["data"]), event
                body = request.body.decode()
                for secret in (phone, new_phone, EMAIL, "陈静", json.dumps("陈静")[1:-1], "1990-01-02"):
                    assert secret not in body, (where, secret)
    finally:
        await runner.cleanup()


async def test_a_campaign_message_reaches_only_the_campaign_owner_and_names_no_one(network: Network) -> None:
    """campaign.message (issue 16): the distributor's campaign is sent by the distributor's system
    alone (the dealer's DMS, subscribed to the same family, gets nothing), with ids and the text."""
    receiver, runner = await start_receiver()
    try:
        distributor = network.org("distributor")
        dealer = network.org("dealer", distributor)
        hooks = {}
        for org, where in ((dealer, "/dealer"), (distributor, "/distributor")):
            with CSLoop(network.url, api_key=org.key) as api:
                hooks[where] = api.webhooks.create(url=receiver.answer(where), event_types=["campaign."], org_code=org.code)
        phone = f"139{uuid.uuid4().int % 10**8:08d}"
        created = dealer.client.post("/v1/customers", json={
            "dealer_code": dealer.code, "name": "陈静", "phone": phone, "email": EMAIL,
            "consent": {"survey": True, "marketing": True, "share_with_manufacturer": True}})
        assert created.status_code == 201, created.text
        campaign = distributor.client.post("/v1/campaigns", json={
            "name": "关怀", "kind": "care", "channel": "sms", "message": {"zh-CN": "您好"}, "holdout_pct": 0})
        assert campaign.status_code == 201 and campaign.json()["audience_size"] == 1, campaign.text
        assert distributor.client.post(f"/v1/campaigns/{campaign.json()['id']}/launch").status_code == 200
        [request] = await receiver.wait_for("/distributor", 1, timeout=30)
        event = Webhook(hooks["/distributor"].secret).verify(request.body, request.headers)
        assert event["type"] == "campaign.message"
        assert (event["data"]["customer_id"], event["data"]["dealer_code"], event["data"]["message"]) == (
            created.json()["id"], dealer.code, {"zh-CN": "您好"})
        for secret in (phone, EMAIL, "陈静", json.dumps("陈静")[1:-1]):
            assert secret not in request.body.decode(), secret
        # Fanned out in one transaction with the distributor's: had the dealer's hook matched, it would be queued now.
        with CSLoop(network.url, api_key=dealer.key) as api:
            assert list(api.webhooks.deliveries(hooks["/dealer"].id)) == []
        assert receiver.at("/dealer") == []
    finally:
        await runner.cleanup()
