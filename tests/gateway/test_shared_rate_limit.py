"""The rate limit is per key across gateway replicas when CSLOOP_REDIS_URL is set (issue 19):
the buckets live in Redis (the real one at 127.0.0.1:6379), spent atomically by every
replica; unset, each process keeps its own; Redis away, each process falls back to its own."""

import functools
import logging
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway import app as gateway_app
from gateway.edge.ratelimit import RateLimiter
from gateway.edge.shared_ratelimit import BucketStore, SharedRateLimiter
from gateway.identity.login_throttle import LoginThrottle
from gateway.settings import GatewaySettings
from shared.problems import TooManyRequests
from tests.gateway.conftest import OrgTree, bearer, running_gateway

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own (the Redis is shared with other suites), removed afterwards."""
    prefix = f"csloop-caches-test:{uuid.uuid4().hex}:"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    async for key in redis.scan_iter(match=f"{prefix}*"):
        await redis.delete(key)
    await redis.aclose()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


async def test_two_limiters_on_one_redis_spend_one_bucket(prefix: str) -> None:
    one, two = BucketStore(REDIS_URL, prefix), BucketStore(REDIS_URL, prefix)
    try:
        first, second = one.buckets("caller", 0.5, 3), two.buckets("caller", 0.5, 3)
        assert isinstance(first, SharedRateLimiter)
        spent = [await first.spend("key:a"), await second.spend("key:a"), await first.spend("key:a")]
        assert [(int(tokens), wait) for tokens, wait in spent] == [(2, 0.0), (1, 0.0), (0, 0.0)]
        tokens, wait = await second.spend("key:a")
        assert tokens < 1.0 and 1.9 < wait <= 2.0  # one token back after 2 s at 0.5/s
        with pytest.raises(TooManyRequests):
            await first.admit("key:a")
        assert (await first.spend("key:b"))[1] == 0.0  # another key, another bucket
    finally:
        await one.close()
        await two.close()


async def test_a_bucket_expires_when_it_would_be_full_again(prefix: str, redis: Redis) -> None:
    store = BucketStore(REDIS_URL, prefix)
    try:
        limiter = store.buckets("caller", 10.0, 5)
        assert await limiter.tokens("key:idle") == 5.0
        assert await redis.exists(f"{prefix}caller:key:idle") == 0  # reading writes nothing
        await limiter.spend("key:busy")
        # One token short refills in 0.1 s; the key outlives that by a second at most.
        assert 0 < await redis.pttl(f"{prefix}caller:key:busy") <= 1100
        for _ in range(4):
            await limiter.spend("key:busy")
        assert 0 < await redis.pttl(f"{prefix}caller:key:busy") <= 1500
    finally:
        await store.close()


async def test_without_a_redis_url_each_process_keeps_its_buckets(settings: GatewaySettings) -> None:
    assert settings.redis_url is None
    assert isinstance(BucketStore(None, "unused:").buckets("caller", 1.0, 2), RateLimiter)
    assert isinstance(gateway_app.create_app(settings).state.rate_limiter, RateLimiter)


async def test_redis_away_fails_open_to_this_process_buckets(caplog: pytest.LogCaptureFixture) -> None:
    store = BucketStore("redis://127.0.0.1:1/0", "unused:")  # nobody listens on port 1
    try:
        limiter = store.buckets("caller", 0.5, 2)
        with caplog.at_level(logging.WARNING, "csloop.gateway.ratelimit"):
            answers = [await limiter.spend("key:a") for _ in range(3)]
        assert [wait == 0.0 for _, wait in answers] == [True, True, False]  # still limited, locally
        assert sum("Redis unavailable" in record.message for record in caplog.records) == 1  # once per outage
    finally:
        await store.close()


async def test_two_gateways_share_a_callers_bucket(settings: GatewaySettings, tree: OrgTree, prefix: str) -> None:
    shared = settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix,
                                         "rate_limit_per_second": 0.5, "rate_limit_burst": 3})
    key = bearer(tree.admin_keys["dlr12"])
    async with running_gateway(shared) as one, running_gateway(shared) as two:
        answers = [await one.get("/v1/orgs", headers=key), await two.get("/v1/orgs", headers=key),
                   await one.get("/v1/orgs", headers=key), await two.get("/v1/orgs", headers=key)]
        other_key = await two.get("/v1/orgs", headers=bearer(tree.admin_keys["dlr11"]))
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer.headers["ratelimit"].split(";")[1] for answer in answers[:3]] == ["r=2", "r=1", "r=0"]
    assert int(answers[3].headers["retry-after"]) >= 1
    assert other_key.status_code == 200


async def test_two_gateways_share_a_proxied_callers_bucket(settings: GatewaySettings, tree: OrgTree,
                                                           prefix: str) -> None:
    shared = settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix,
                                         "rate_limit_per_second": 0.5, "rate_limit_burst": 3})
    key = bearer(tree.admin_keys["dlr12"])
    async with running_gateway(shared) as one, running_gateway(shared) as two:
        answers = [await gateway.get("/v1/customers", headers=key) for gateway in (one, two, one, two)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]


async def test_two_gateways_share_the_login_throttle(settings: GatewaySettings, prefix: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # An address may fail 3 times in all, not 3 times per replica; no refill while the test runs.
    monkeypatch.setattr(gateway_app, "LoginThrottle", functools.partial(LoginThrottle, address_burst=3,
                                                                        address_rate=1e-6))
    shared = settings.model_copy(update={"redis_url": REDIS_URL, "redis_key_prefix": prefix})
    guess = {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "Winter2026!"}
    async with running_gateway(shared) as one, running_gateway(shared) as two:
        statuses = [(await gateway.post("/v1/auth/login", json=guess)).status_code for gateway in (one, two, one, two)]
    assert statuses == [401, 401, 401, 429]


async def test_an_unreachable_redis_leaves_the_gateway_answering(settings: GatewaySettings, tree: OrgTree) -> None:
    away = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0", "rate_limit_burst": 2,
                                       "rate_limit_per_second": 0.5})
    key = bearer(tree.admin_keys["dlr12"])
    async with running_gateway(away) as gateway:
        statuses = [(await gateway.get("/v1/orgs", headers=key)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_redis_url_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSLOOP_REDIS_URL", "redis://redis:6379/0")
    assert GatewaySettings().redis_url == "redis://redis:6379/0"


async def test_a_spend_is_refused_like_the_in_process_one(prefix: str) -> None:
    """The same arithmetic as RateLimiter: a refused spend keeps its refilled tokens."""
    store = BucketStore(REDIS_URL, prefix)
    try:
        shared, local = store.buckets("caller", 1.0, 1), RateLimiter(1.0, 1)
        for limiter in (shared, local):
            assert (await limiter.spend("k"))[1] == 0.0
            tokens, wait = await limiter.spend("k")
            assert 0.0 <= tokens < 0.2 and 0.8 < wait <= 1.0
            assert await limiter.wait_for("k") > 0.7 and not await limiter.is_untouched("k")
    finally:
        await store.close()
