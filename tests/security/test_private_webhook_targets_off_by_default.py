"""Finding 10: `csloop up` let webhooks target 127.0.0.1, [::1], 169.254.169.254 and the
services' own ports. Off unless asked; one local receiver goes on an explicit allow-list."""

import httpx
import pytest

from cli.topology import built_components
from cli.up import Suite
from gateway.settings import GatewaySettings
from gateway.integrations.webhooks.targets import PublicOnlyResolver, TargetRefused, check_target
from tests.gateway.conftest import bearer, running_gateway
from tests.gateway.integrations.receiver import start_receiver
from tests.security.gateway_support import base_settings, org_tree, security_database_url  # noqa: F401


def test_csloop_up_does_not_allow_private_targets_unless_asked(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("CSLOOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS", raising=False)
    gateway = built_components()[0]
    assert "CSLOOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS" not in Suite(tmp_path, 8000).environment(gateway)
    asked = Suite(tmp_path, 8000, allow_private_webhooks=True).environment(gateway)
    assert asked["CSLOOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] == "true"


def test_default_settings_refuse_private_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSLOOP_WEBHOOKS_ALLOW_PRIVATE_TARGETS", raising=False)
    monkeypatch.delenv("CSLOOP_WEBHOOKS_ALLOWED_TARGETS", raising=False)
    policy = GatewaySettings().webhook_targets()
    assert not policy.allow_private and not policy.allowed


def test_allow_list_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSLOOP_WEBHOOKS_ALLOWED_TARGETS", "127.0.0.1:9100, Receiver.local:8080")
    assert GatewaySettings().webhook_targets().allowed == {"127.0.0.1:9100", "receiver.local:8080"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:9101/hook", "http://127.0.0.1/hook", "http://[::1]:9100/",
                                 "http://169.254.169.254/latest/meta-data", "http://localhost:9100/"])
async def test_allow_list_opens_exactly_the_listed_endpoint(url: str) -> None:
    allowed = frozenset({"127.0.0.1:9100"})
    await check_target("http://127.0.0.1:9100/hook", allow_private=False, allowed=allowed)
    with pytest.raises(TargetRefused):
        await check_target(url, allow_private=False, allowed=allowed)


async def test_resolver_resolves_an_allowed_name_only_on_its_port() -> None:
    resolver = PublicOnlyResolver(frozenset({"localhost:9100"}))
    try:
        assert await resolver.resolve("localhost", 9100)
        with pytest.raises(OSError):
            await resolver.resolve("localhost", 9101)
    finally:
        await resolver.close()


async def test_gateway_accepts_the_listed_receiver_and_refuses_the_rest(base_settings: GatewaySettings,  # noqa: F811
                                                                       security_database_url: str) -> None:  # noqa: F811
    receiver, runner = await start_receiver()
    try:
        endpoint = receiver.url.removeprefix("http://")
        settings = base_settings.model_copy(update={"webhooks_allowed_targets": [endpoint]})
        async with running_gateway(settings) as client:
            net = await org_tree(client, security_database_url, "webhooks:admin")

            async def create(url: str) -> httpx.Response:
                return await client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
                    "url": url, "event_types": ["customer."], "org_code": net.codes["dlr11"]})

            assert (await create(receiver.url + "/hook")).status_code == 201
            host, port = endpoint.split(":")
            for refused in (f"http://{host}:{int(port) + 1}/hook", "http://169.254.169.254/", "http://[::1]/"):
                response = await create(refused)
                assert response.status_code == 422, response.text
                assert response.json()["errors"][0]["field"] == "url"
    finally:
        await runner.cleanup()
