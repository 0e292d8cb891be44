"""Private, loopback and link-local webhook targets are refused, at creation and at delivery."""

import ipaddress
import uuid

import pytest

from gateway.settings import GatewaySettings
from gateway.integrations.webhooks.dispatcher import Dispatcher
from gateway.integrations.webhooks.repository import DueDelivery
from gateway.integrations.webhooks.subscriptions import new_secret
from gateway.integrations.webhooks.targets import PublicOnlyResolver, TargetRefused, check_target, is_public
from tests.gateway.conftest import OrgTree, bearer, running_gateway
from tests.gateway.integrations.receiver import Receiver

REFUSED = [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook", "http://192.168.0.10/",
    "http://172.16.5.5/", "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/", "http://0.0.0.0/", "ftp://example.com/",
    "http://user:pw@example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_check_target_refuses(url: str) -> None:
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=False)


def test_public_addresses_are_public() -> None:
    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))


async def test_resolver_refuses_names_that_resolve_privately() -> None:
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(OSError):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_creation_is_422_without_the_setting(hooks_settings: GatewaySettings, net: OrgTree,
                                                   receiver: Receiver) -> None:
    strict = hooks_settings.model_copy(update={"webhooks_allow_private_targets": False})
    async with running_gateway(strict) as client:
        for url in (receiver.url + "/hook", "http://169.254.169.254/"):
            response = await client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
                "url": url, "event_types": ["customer."], "org_code": net.codes["dlr11"]})
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "url"


async def test_delivery_is_refused_when_the_target_turned_private(hooks_settings: GatewaySettings,
                                                                   receiver: Receiver) -> None:
    """A subscription accepted earlier is checked again on each attempt (DNS may have changed)."""
    strict = hooks_settings.model_copy(update={"webhooks_allow_private_targets": False})
    dispatcher = Dispatcher(sessions=None, settings=strict)  # type: ignore[arg-type] - send() needs no database
    await dispatcher.open()
    try:
        due = DueDelivery(uuid.uuid4(), receiver.url + "/rebound", new_secret(), {"id": "e1"}, 0)
        status, error, _ = await dispatcher.send(due)
    finally:
        await dispatcher.close()
    assert status is None and error is not None and error.startswith("refused:")
    assert receiver.at("/rebound") == []
