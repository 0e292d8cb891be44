"""Integrations through the real suite: the Python SDK, OAuth2 client credentials on a
service route, and a webhook a DMS verifies with `standardwebhooks` (own subtree only)."""

import asyncio
import uuid

import pytest
from standardwebhooks import Webhook

from csloop_sdk import ClientCredentials, CSLoop, CSLoopError, Forbidden, NotFound, models
from tests.gateway.integrations.receiver import start_receiver
from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def _customer(api: CSLoop, dealer_code: str) -> models.Customer:
    return api.customers.create(external_id=uuid.uuid4().hex[:12], dealer_code=dealer_code, name="李娜",
                               phone=f"139{uuid.uuid4().int % 10**8:08d}",
                               consent={"survey": True, "marketing": False, "share_with_manufacturer": True})


def test_python_client_round_trip(network: Network) -> None:
    with CSLoop(network.url, api_key=network.manufacturer.key) as admin:
        dealer = admin.orgs.create(code=f"DLR-{uuid.uuid4().hex[:8].upper()}", name="Client dealer", kind="dealer",
                                   parent_code=network.manufacturer.code)
        assert admin.orgs.get(dealer.code).path.endswith(f"/{dealer.code}/")
        key = admin.api_keys.create(org_code=dealer.code, name="dms", scopes=["customers:read", "customers:write"])
    with CSLoop(network.url, api_key=key.key) as api:
        created = _customer(api, dealer.code)
        assert api.customers.get(created.id).external_id == created.external_id
        assert [c.id for c in api.customers.list(dealer_code=dealer.code)] == [created.id]
        result = api.customers.import_rows("external_id,name,phone\nX-1,王芳,13900000001\nX-2,,bad\n".encode(), dealer.code)
        assert (result.created, result.failed) == (1, 1)
        with pytest.raises(NotFound) as missing:
            api.customers.get(str(uuid.uuid4()))
        assert missing.value.status == 404 and missing.value.problem["status"] == 404
        with pytest.raises(Forbidden):
            api.orgs.create(code="X-NOPE", name="no", kind="dealer", parent_code=dealer.code)


def test_oauth_client_token_works_on_customers(network: Network) -> None:
    dealer = network.org("dealer")
    with CSLoop(network.url, api_key=dealer.key) as admin:
        registered = admin.oauth_clients.create(org_code=dealer.code, name="DMS", scopes=["customers:read", "customers:write"])
    with CSLoop(network.url, oauth=ClientCredentials(registered.client_id, registered.client_secret)) as dms:
        created = _customer(dms, dealer.code)
        assert dms.customers.get(created.id).id == created.id
    narrow = ClientCredentials(registered.client_id, registered.client_secret, scope="customers:read")
    with CSLoop(network.url, oauth=narrow) as reader, pytest.raises(Forbidden):
        _customer(reader, dealer.code)
    wrong = ClientCredentials(registered.client_id, "wrong")
    with CSLoop(network.url, oauth=wrong) as nobody, pytest.raises(CSLoopError) as bad_client:
        nobody.customers.get(created.id)
    assert (bad_client.value.status, bad_client.value.problem["error"]) == (400, "invalid_client")


async def test_webhook_receives_own_dealers_events_signed(network: Network) -> None:
    receiver, runner = await start_receiver()
    try:
        north = network.org("distributor")
        dealer, sibling = network.org("dealer", north), network.org("dealer", north)
        with CSLoop(network.url, api_key=dealer.key) as api:
            hook = api.webhooks.create(url=receiver.answer("/dealer"), event_types=["customer."], org_code=dealer.code)
            created = _customer(api, dealer.code)
        with CSLoop(network.url, api_key=sibling.key) as other:
            other.webhooks.create(url=receiver.answer("/sibling"), event_types=["customer."], org_code=sibling.code)
        [request] = await receiver.wait_for("/dealer", 1, timeout=30)
        event = Webhook(hook.secret).verify(request.body, request.headers)
        assert event["type"] == "customer.created" and event["data"]["customer_id"] == created.id
        assert receiver.at("/sibling") == []
        # The attempt is written once the receiver's answer is back, a moment after the receiver saw it.
        with CSLoop(network.url, api_key=dealer.key) as api:
            for _ in range(100):
                [delivery] = list(api.webhooks.deliveries(hook))
                if delivery.history:
                    break
                await asyncio.sleep(0.1)
        assert delivery.event_id == event["id"] and delivery.history[0].status_code == 204
    finally:
        await runner.cleanup()
