"""Webhook secrets at rest: sealed with Fernet under a key from settings (never the plaintext in
the database), opened only to sign; migration 0005 seals the rows written before; production
settings without a key of their own refuse to start."""

import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from standardwebhooks import Webhook

from gateway.identity.bootstrap import MIGRATIONS
from gateway.integrations.webhooks.sealing import DEVELOPMENT_KEY, SecretBox
from gateway.settings import GatewaySettings
from shared.db import create_engine, utcnow
from shared.migrations import downgrade, upgrade
from tests.gateway.conftest import OrgTree, bearer
from tests.gateway.integrations.conftest import org_event, publish
from tests.gateway.integrations.receiver import Receiver
from tests.support.databases import unit_database_url


def generate_key() -> str:
    return Fernet.generate_key().decode()


def uuid_param(url: str, value: uuid.UUID) -> object:
    # Raw SQL on the column type of each backend: CHAR(32) hex on SQLite, uuid on PostgreSQL.
    return value.hex if url.startswith("sqlite") else value


async def stored_secret(url: str, webhook_id: uuid.UUID) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text("SELECT secret FROM webhook_subscriptions WHERE id = :id"),
                                           {"id": uuid_param(url, webhook_id)})
    finally:
        await engine.dispose()


async def test_the_database_holds_a_sealed_secret_and_deliveries_still_verify(
        net: OrgTree, receiver: Receiver, hooks_settings: GatewaySettings, hooks_database_url: str) -> None:
    where = f"/dms/{uuid.uuid4().hex}"
    created = await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
        "url": receiver.answer(where), "event_types": ["customer."], "org_code": net.codes["dlr11"]})
    hook = created.json()
    stored = await stored_secret(hooks_database_url, uuid.UUID(hook["id"]))
    assert hook["secret"] not in stored and not stored.startswith("whsec_")
    assert hooks_settings.webhook_secrets().open(stored) == hook["secret"]
    with pytest.raises(Exception):
        SecretBox([generate_key()]).open(stored)  # a copy of the database without the key signs nothing
    await publish(net.client, hooks_settings, org_event(net, "d1", "dlr11"))
    [request] = await receiver.wait_for(where, 1)
    assert Webhook(hook["secret"]).verify(request.body, request.headers)["type"] == "customer.created"


async def test_a_secret_no_configured_key_opens_is_reported_by_the_test_send(
        net: OrgTree, receiver: Receiver, hooks_database_url: str) -> None:
    where = f"/dms/{uuid.uuid4().hex}"
    hook = (await net.client.post("/v1/webhooks", headers=bearer(net.admin_keys["dlr11"]), json={
        "url": receiver.answer(where), "event_types": ["customer."], "org_code": net.codes["dlr11"]})).json()
    engine = create_engine(hooks_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE webhook_subscriptions SET secret = :secret WHERE id = :id"), {
                "secret": SecretBox([generate_key()]).seal("whsec_other"), "id": uuid_param(hooks_database_url, uuid.UUID(hook["id"]))})
    finally:
        await engine.dispose()
    answer = await net.client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(net.admin_keys["dlr11"]))
    assert answer.status_code == 200 and "none of the configured keys" in answer.json()["error"]
    assert receiver.at(where) == []


@pytest.fixture
async def migration_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await unit_database_url(tmp_path_factory, "gateway_migration_0005")


async def test_migration_0005_seals_plaintext_secrets_and_its_downgrade_opens_them(migration_url: str) -> None:
    await upgrade(migration_url, MIGRATIONS, "0004")
    hook_id, plaintext, now = uuid.uuid4(), "whsec_" + "Q" * 44, utcnow()
    engine = create_engine(migration_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO orgs (id, code, name, kind, parent_code, region, org_path, created_at) "
                "VALUES (:id, 'MIG', 'Migration Motors', 'manufacturer', NULL, NULL, '/MIG/', :now)"),
                {"id": uuid_param(migration_url, uuid.uuid4()), "now": now})
            await connection.execute(text(
                "INSERT INTO webhook_subscriptions (id, org_code, org_path, url, event_types, secret, enabled, "
                "created_by, created_at) VALUES (:id, 'MIG', '/MIG/', 'https://dms.example/h', '[\"customer.\"]', "
                ":secret, true, 'test', :now)"), {"id": uuid_param(migration_url, hook_id), "secret": plaintext, "now": now})
    finally:
        await engine.dispose()
    await upgrade(migration_url, MIGRATIONS, "head")
    sealed = await stored_secret(migration_url, hook_id)
    assert sealed != plaintext and SecretBox([DEVELOPMENT_KEY]).open(sealed) == plaintext
    await upgrade(migration_url, MIGRATIONS, "head")  # again: a sealed secret is left as it is
    assert await stored_secret(migration_url, hook_id) == sealed
    await downgrade(migration_url, MIGRATIONS, "0004")
    assert await stored_secret(migration_url, hook_id) == plaintext


class TestSettings:
    def test_production_without_a_key_of_its_own_refuses_to_start(self) -> None:
        production = {"environment": "production", "internal_secret": "s" * 40, "integrity_secret": "i" * 40}
        with pytest.raises(ValueError, match="CSLOOP_WEBHOOKS_SECRET_KEYS must be set"):
            GatewaySettings(**production)
        with pytest.raises(ValueError, match="CSLOOP_WEBHOOKS_SECRET_KEYS"):
            GatewaySettings(**production, webhooks_secret_keys="not-a-fernet-key")
        key = generate_key()
        assert GatewaySettings(**production, webhooks_secret_keys=f"{key},{generate_key()}").webhooks_secret_keys[0] == key

    def test_from_the_environment_a_new_key_seals_and_an_old_one_still_opens(self, monkeypatch: pytest.MonkeyPatch) -> None:
        old, new = generate_key(), generate_key()
        sealed_before = SecretBox([old]).seal("whsec_before")
        monkeypatch.setenv("CSLOOP_WEBHOOKS_SECRET_KEYS", f"{new},{old}")
        box = GatewaySettings().webhook_secrets()
        assert box.open(sealed_before) == "whsec_before"
        assert SecretBox([new]).open(box.seal("whsec_after")) == "whsec_after"

