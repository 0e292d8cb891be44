"""Integrations through the real suite: the Python client, OAuth2 client credentials on a
service route, and a webhook a DMS verifies with `standardwebhooks` (own subtree only)."""

import uuid

import pytest
from standardwebhooks import Webhook

from cli.client import ClientCredentials, CSLoopClient, CSLoopError
from tests.gateway.integrations.receiver import start_receiver
from tests.support.suite import Network

pytestmark = pytest.mark.e2e


def _customer(api: CSLoopClient, dealer_code: str) -> dict:
    return api.create_customer(external_id=uuid.uuid4().hex[:12], dealer_code=dealer_code, name="李娜",
                               phone=f"139{uuid.uuid4().int % 10**8:08d}",
                               consent={"survey": True, "marketing": False, "share_with_manufacturer": True})


def test_python_client_round_trip(network: Network) -> None:
    with CSLoopClient(network.url, api_key=network.manufacturer.key) as admin:
        dealer = admin.create_org(f"DLR-{uuid.uuid4().hex[:8].upper()}", "Client dealer", "dealer", network.manufacturer.code)
        assert admin.get_org(dealer.code).path.endswith(f"/{dealer.code}/")
        key = admin.create_api_key(dealer.code, "dms", ["customers:read", "customers:write"])
    with CSLoopClient(network.url, api_key=key.key) as api:
        created = _customer(api, dealer.code)
        assert api.get_customer(created["id"])["external_id"] == created["external_id"]
        assert [c["id"] for c in api.list_customers(dealer_code=dealer.code)] == [created["id"]]
        result = api.import_customers("external_id,name,phone\nX-1,王芳,13900000001\nX-2,,bad\n".encode(), dealer.code)
        assert (result["created"], result["failed"]) == (1, 1)
        with pytest.raises(CSLoopError) as missing:
            api.get_customer(str(uuid.uuid4()))
        assert missing.value.status == 404 and missing.value.problem["status"] == 404
        with pytest.raises(CSLoopError) as forbidden:
            api.create_org("X-NOPE", "no", "dealer", dealer.code)
        assert forbidden.value.status == 403


def test_oauth_client_token_works_on_customers(network: Network) -> None:
    dealer = network.org("dealer")
    with CSLoopClient(network.url, api_key=dealer.key) as admin:
        registered = admin.create_oauth_client(dealer.code, "DMS", ["customers:read", "customers:write"])
    with CSLoopClient(network.url, oauth=ClientCredentials(registered.client_id, registered.client_secret)) as dms:
        created = _customer(dms, dealer.code)
        assert dms.get_customer(created["id"])["id"] == created["id"]
    narrow = ClientCredentials(registered.client_id, registered.client_secret, scope="customers:read")
    with CSLoopClient(network.url, oauth=narrow) as reader, pytest.raises(CSLoopError) as refused:
        _customer(reader, dealer.code)
    assert refused.value.status == 403
    wrong = ClientCredentials(registered.client_id, "wrong")
    with CSLoopClient(network.url, oauth=wrong) as nobody, pytest.raises(CSLoopError) as bad_client:
        nobody.get_customer(created["id"])
    assert (bad_client.value.status, bad_client.value.problem["error"]) == (400, "invalid_client")


async def test_webhook_receives_own_dealers_events_signed(network: Network) -> None:
    receiver, runner = await start_receiver()
    try:
        north = network.org("distributor")
        dealer, sibling = network.org("dealer", north), network.org("dealer", north)
        with CSLoopClient(network.url, api_key=dealer.key) as api:
            hook = api.create_webhook(receiver.answer("/dealer"), ["customer."], dealer.code)
            created = _customer(api, dealer.code)
        with CSLoopClient(network.url, api_key=sibling.key) as other:
            other.create_webhook(receiver.answer("/sibling"), ["customer."], sibling.code)
        [request] = await receiver.wait_for("/dealer", 1, timeout=30)
        event = Webhook(hook.secret).verify(request.body, request.headers)
        assert event["type"] == "customer.created" and event["data"]["customer_id"] == created["id"]
        assert receiver.at("/sibling") == []
        with CSLoopClient(network.url, api_key=dealer.key) as api:
            [delivery] = list(api.webhook_deliveries(str(hook.id)))
        assert delivery.event_id == event["id"] and delivery.history[0].status_code == 204
    finally:
        await runner.cleanup()
