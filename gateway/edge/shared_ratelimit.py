"""Token buckets in Redis: one bucket per key across every gateway replica.

Each bucket is a Redis hash {tokens, at} updated by one Lua script, so a spend is atomic
however many replicas spend at once, and timed by the Redis server's clock, so replicas
whose clocks differ agree. A bucket expires when it would be full again: an absent key is a
full bucket, and the store holds only the callers of the last few seconds.

Redis down (or slower than `REDIS_TIMEOUT_SECONDS`, or every pooled connection busy for
`POOL_WAIT_SECONDS`): fail open to this process's own buckets
(`local`), logged. Refusing every request because the limiter's store is away would turn a
Redis outage into a full API outage; the local buckets still stop a flood, only N replicas
let N times the rate through until Redis is back. Redis is tried again after
`RETRY_REDIS_AFTER_SECONDS`, so an outage costs no request a timeout after the first.
"""

import logging
import time

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from gateway.edge.ratelimit import Buckets, RateLimiter

logger = logging.getLogger("csloop.gateway.ratelimit")

REDIS_TIMEOUT_SECONDS = 1.0
REDIS_CONNECTIONS = 64
POOL_WAIT_SECONDS = 1.0
RETRY_REDIS_AFTER_SECONDS = 5.0

# KEYS[1] the bucket; ARGV rate (tokens/s), burst, cost (1: spend one; 0: only read).
# Returns {tokens left, seconds until a token is back} as strings (a Lua number would be
# truncated to an integer on its way out). The same arithmetic as RateLimiter.take: a refused
# spend keeps the refilled tokens and spends nothing.
TOKEN_BUCKET = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1])
if tokens == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - tonumber(bucket[2])) * rate)
end
local wait = 0
if cost > 0 then
  if tokens >= cost then
    tokens = tokens - cost
  else
    wait = (cost - tokens) / rate
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
end
return {tostring(tokens), tostring(wait)}
"""


def redis_client(url: str) -> Redis:
    """A client that connects on first use and gives up quickly on a dead Redis (the fallback
    answers then). Under a burst a spend waits its turn for one of the pool's connections (up to
    `POOL_WAIT_SECONDS`) instead of failing: the default pool refuses at once when all are busy."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=POOL_WAIT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    return Redis.from_pool(pool)


class SharedRateLimiter(Buckets):
    def __init__(self, redis: Redis, prefix: str, rate_per_second: float, burst: int) -> None:
        super().__init__(rate_per_second, burst)
        self._prefix = prefix
        self._script = redis.register_script(TOKEN_BUCKET)
        self.local = RateLimiter(rate_per_second, burst)
        self._redis_back_at = 0.0  # monotonic time before which Redis is not asked (it failed)
        self._outage = False

    async def spend(self, key: str) -> tuple[float, float]:
        shared = await self._bucket(key, 1)
        return shared if shared is not None else await self.local.spend(key)

    async def tokens(self, key: str) -> float:
        shared = await self._bucket(key, 0)
        return shared[0] if shared is not None else await self.local.tokens(key)

    async def _bucket(self, key: str, cost: int) -> tuple[float, float] | None:
        """The script's answer, or None while Redis cannot give one."""
        if time.monotonic() < self._redis_back_at:
            return None
        try:
            tokens, wait = await self._script(keys=[self._prefix + key], args=[self.rate, self.burst, cost])
        except (RedisError, OSError) as exc:
            if not self._outage:  # once per outage, not once per request
                logger.warning("rate limit: Redis unavailable (%s); this replica's own buckets apply", exc)
            self._outage = True
            self._redis_back_at = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
            return None
        if self._outage:
            logger.warning("rate limit: Redis is back; the buckets are shared again")
            self._outage = False
        return float(tokens), float(wait)


class BucketStore:
    """Where a gateway keeps its buckets: in Redis when `redis_url` is set, else in this process."""

    def __init__(self, redis_url: str | None, key_prefix: str) -> None:
        self._redis = redis_client(redis_url) if redis_url else None
        self._prefix = key_prefix

    def buckets(self, name: str, rate_per_second: float, burst: int) -> Buckets:
        """The buckets called `name` (a namespace of keys: the callers', the login throttle's)."""
        if self._redis is None:
            return RateLimiter(rate_per_second, burst)
        return SharedRateLimiter(self._redis, f"{self._prefix}{name}:", rate_per_second, burst)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
