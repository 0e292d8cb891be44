"""Per-caller token buckets: what every kind offers (`Buckets`), and the buckets in this process's memory.

With N gateway replicas each caller gets N times the rate of these buckets: a deployment
with replicas sets `CSLOOP_REDIS_URL` and the buckets live in Redis instead, one per key
across replicas (shared_ratelimit.py). Both kinds share `Buckets`: callers spend with
`await limiter.admit(key)` and need not know which they hold.

Many keys are strings a caller chooses without authenticating (a client address, a made-up
OAuth client id, a username), so the number of buckets is bounded: they are kept in
least-recently-used order, and making room drops first the buckets that would be full again
anyway (they carry no information), then, under a flood of new keys, the least recently
used ones. Dropping a half-empty bucket forgives its caller a little; growing without bound
would take the process down.
"""

import math
import time
from abc import ABC, abstractmethod
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import TooManyRequests

MAX_KEYS = 100_000
# Where a request's limit state waits for its response to start (scope["state"], which is
# also Starlette's `request.state`): set by whoever spends the caller's token.
SCOPE_KEY = "rate_limit_headers"


class Buckets(ABC):
    """A token bucket per key, `burst` tokens, refilled at `rate` per second; wherever kept."""

    def __init__(self, rate_per_second: float, burst: int) -> None:
        self.rate = rate_per_second
        self.burst = float(burst)

    @abstractmethod
    async def spend(self, key: str) -> tuple[float, float]:
        """Spend one token for `key`: (tokens left, seconds until one is back: 0.0 when allowed)."""

    @abstractmethod
    async def tokens(self, key: str) -> float:
        """The tokens `key` has now, spending nothing."""

    async def admit(self, key: str) -> list[tuple[bytes, bytes]]:
        """Spend one token for `key`, or raise 429 (Retry-After and both fields); the fields
        that tell the caller where it stands, for its response."""
        return self.answer(*await self.spend(key))

    async def wait_for(self, key: str) -> float:
        """Seconds until `key` has a token again (0.0 when it has one), spending nothing."""
        tokens = await self.tokens(key)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    async def is_untouched(self, key: str) -> bool:
        """True when `key` has spent nothing of late (its bucket is full, or there is none)."""
        return await self.tokens(key) >= self.burst

    def policy(self) -> str:
        """The `RateLimit-Policy` field (IETF httpapi ratelimit-headers, structured-field
        revisions): the bucket's size as the quota `q` over the seconds it takes to fill `w`."""
        return f'"default";q={int(self.burst)};w={max(1, math.ceil(self.burst / self.rate))}'

    def answer(self, tokens: float, wait: float) -> list[tuple[bytes, bytes]]:
        """429 when `wait`, else the header fields of a caller left with `tokens`."""
        # `r`: requests left now; `t`: seconds until the bucket is full again (the quota resets).
        current = f'"default";r={int(tokens)};t={math.ceil((self.burst - tokens) / self.rate)}'
        fields = {"RateLimit-Policy": self.policy(), "RateLimit": current}
        refuse_after(wait, fields)
        return [(name.lower().encode(), value.encode()) for name, value in fields.items()]


class RateLimiter(Buckets):
    """The buckets in this process's memory; synchronous as well, for callers that count
    locally on purpose (failed authentications: a cost guard, not a quota)."""

    def __init__(self, rate_per_second: float, burst: int, *, max_keys: int = MAX_KEYS) -> None:
        super().__init__(rate_per_second, burst)
        self.max_keys = max_keys
        # key -> [tokens left, monotonic time of the last refill], least recently used first
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Spend one token for `key`; 0.0 when allowed, else seconds until a token is back."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._make_room(now)
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
        self._buckets.move_to_end(key)
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def waiting(self, key: str) -> float:
        """Seconds until `key` has a token again (0.0 when it has one), spending nothing."""
        tokens = self._tokens_now(key)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    async def spend(self, key: str) -> tuple[float, float]:
        wait = self.take(key)
        return self._buckets[key][0], wait

    async def tokens(self, key: str) -> float:
        return self._tokens_now(key)

    def _tokens_now(self, key: str) -> float:
        bucket = self._buckets.get(key)
        return self.burst if bucket is None else min(self.burst, bucket[0] + (time.monotonic() - bucket[1]) * self.rate)

    def _make_room(self, now: float) -> None:
        # Least recently used first, so the stale buckets are all at the front; beyond them,
        # drop down to three quarters of the bound so the next flood key does not come back here.
        full_after = self.burst / self.rate
        keep = self.max_keys * 3 // 4
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest[1] < full_after and len(self._buckets) <= keep:
                return
            self._buckets.popitem(last=False)


def refuse_after(wait: float, fields: dict[str, str] | None = None) -> None:
    """429 with Retry-After (and the given header fields) when `wait` (seconds) is not zero."""
    if wait:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(f"Rate limit exceeded; retry in {seconds} s",
                              headers={"Retry-After": str(seconds), **(fields or {})})


def remember_headers(scope: Scope, headers: list[tuple[bytes, bytes]]) -> None:
    scope.setdefault("state", {})[SCOPE_KEY] = headers


class RateLimitHeadersMiddleware:
    """Adds the caller's `RateLimit-Policy` and `RateLimit` fields to every response whose
    request spent a token (proxied or the gateway's own), so a client sees its budget before
    it runs out, not only in a 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                fields = scope.get("state", {}).get(SCOPE_KEY)
                if fields:
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    message["headers"] = [*message.get("headers", []),
                                          *(field for field in fields if field[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_fields)
