"""Finding 9: every unknown username cost an argon2 hash (16 parallel random logins raised
others' latency from 10 to 406 ms), and nothing limited one address trying many usernames.

Unknown users wait the median verification time without hashing; failures are limited per
address and per username; a correct password from an address that has not failed is never
refused. These tests count hash calls and read the throttle's state, never the clock.
"""

import functools
from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher

from gateway import app as gateway_app
from gateway.identity import users
from gateway.identity.login_throttle import ADDRESS_FAILURE_BURST, USERNAME_FAILURE_BURST, LoginThrottle
from gateway.settings import GatewaySettings
from tests.gateway.conftest import bearer
from tests.security.gateway_support import base_settings, gateway_from, org_tree, security_database_url  # noqa: F401

PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's own name
        self.verifications += 1
        return super().verify(hash, password)


class RecordingTimer(users.VerificationTimer):
    def __init__(self) -> None:
        super().__init__(0.05)
        self.waits: list[float] = []

    async def wait(self) -> None:
        self.waits.append(self.median())


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher()
    monkeypatch.setattr(users, "_hasher", counting)
    yield counting


@pytest.fixture
def timer(monkeypatch: pytest.MonkeyPatch) -> RecordingTimer:
    recording = RecordingTimer()
    monkeypatch.setattr(users, "_timer", recording)
    return recording


@pytest.fixture(autouse=True)
def no_refill_during_a_test(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default bursts, with buckets that refill too slowly to matter while a test runs:
    # the outcome then depends on the counts alone, not on how fast argon2 runs on this machine.
    monkeypatch.setattr(gateway_app, "LoginThrottle", functools.partial(LoginThrottle, address_rate=1e-6,
                                                                        username_rate=1e-6))


async def _user(client: httpx.AsyncClient, security_database_url: str) -> str:  # noqa: F811
    tree = await org_tree(client, security_database_url)
    username = f"user-{tree.codes['dlr11'].lower()}"
    response = await client.post("/v1/users", headers=bearer(tree.admin_keys["dlr11"]), json={
        "username": username, "password": PASSWORD, "org_code": tree.codes["dlr11"], "scopes": ["kpi:read"]})
    assert response.status_code == 201, response.text
    return username


def login(client: httpx.AsyncClient, username: str, password: str):  # noqa: ANN201
    return client.post("/v1/auth/login", json={"username": username, "password": password})


def test_the_wait_is_the_median_of_the_recent_verifications() -> None:
    timer = users.VerificationTimer(0.05)
    for seconds in (0.04, 0.06, 0.9, 0.05):
        timer.record(seconds)
    assert timer.median() == 0.05


async def test_unknown_usernames_wait_the_median_without_hashing(
        base_settings: GatewaySettings, security_database_url: str,  # noqa: F811
        hasher: CountingHasher, timer: RecordingTimer) -> None:
    async with gateway_from(base_settings) as client_from, client_from("198.51.100.20") as client:
        username = await _user(client, security_database_url)
        assert (await login(client, username, "wrong password!")).status_code == 401
        assert hasher.verifications == 1 and timer.waits == []
        for n in range(16):
            assert (await login(client, f"nobody-{n}", "whatever12")).status_code == 401
        assert hasher.verifications == 1  # not one more argon2 verification for the unknown names
        assert len(timer.waits) == 16 and all(wait == timer.median() for wait in timer.waits)


async def test_an_address_that_keeps_failing_is_refused_before_hashing(
        base_settings: GatewaySettings, security_database_url: str, hasher: CountingHasher) -> None:  # noqa: F811
    async with gateway_from(base_settings) as client_from, client_from("198.51.100.21") as sprayer:
        username = await _user(sprayer, security_database_url)
        for n in range(ADDRESS_FAILURE_BURST):
            assert (await login(sprayer, f"sprayed-{n}", "Winter2026!")).status_code == 401
        refused = await login(sprayer, username, "Winter2026!")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert hasher.verifications == 0
        async with client_from("198.51.100.22") as elsewhere:
            assert (await login(elsewhere, username, PASSWORD)).status_code == 200


async def test_a_guessed_username_still_lets_its_owner_in_from_a_clean_address(
        base_settings: GatewaySettings, security_database_url: str, hasher: CountingHasher) -> None:  # noqa: F811
    async with gateway_from(base_settings) as client_from, client_from("198.51.100.30") as guesser:
        username = await _user(guesser, security_database_url)
        for _ in range(USERNAME_FAILURE_BURST):
            assert (await login(guesser, username, "wrong password!")).status_code == 401
        verified = hasher.verifications
        assert (await login(guesser, username, "another guess")).status_code == 429
        assert (await login(guesser, username, PASSWORD)).status_code == 429  # the guesser's address failed
        assert hasher.verifications == verified  # refused before any hashing
        async with client_from("198.51.100.31") as owner:
            for _ in range(3):  # correct passwords spend nothing
                assert (await login(owner, username, PASSWORD)).status_code == 200
            assert (await login(owner, username, "typo in it")).status_code == 401  # checked, not refused
            assert (await login(owner, username, "typo again")).status_code == 429  # now this address failed too


async def test_correct_passwords_are_never_counted(
        base_settings: GatewaySettings, security_database_url: str) -> None:  # noqa: F811
    async with gateway_from(base_settings) as client_from, client_from("198.51.100.40") as office:
        username = await _user(office, security_database_url)
        for _ in range(ADDRESS_FAILURE_BURST + USERNAME_FAILURE_BURST):
            assert (await login(office, username, PASSWORD)).status_code == 200
