"""Per-caller token bucket, in this process's memory.

Scale-out note: with N gateway replicas each caller effectively gets N times the rate. A
deployment that needs an exact global limit moves the buckets to a shared store (Redis
INCR/EXPIRE or a GCRA script); the interface here (`take(key) -> retry_after`) stays.

Many keys are strings a caller chooses without authenticating (a client address, a made-up
OAuth client id, a username), so the number of buckets is bounded: they are kept in
least-recently-used order, and making room drops first the buckets that would be full again
anyway (they carry no information), then, under a flood of new keys, the least recently
used ones. Dropping a half-empty bucket forgives its caller a little; growing without bound
would take the process down.
"""

import math
import time
from collections import OrderedDict

from shared.problems import TooManyRequests

MAX_KEYS = 100_000


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, *, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate_per_second
        self.burst = float(burst)
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
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(self.burst, bucket[0] + (time.monotonic() - bucket[1]) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def untouched(self, key: str) -> bool:
        """True when `key` has spent nothing of late (its bucket is full, or there is none)."""
        bucket = self._buckets.get(key)
        return bucket is None or bucket[0] + (time.monotonic() - bucket[1]) * self.rate >= self.burst

    def check(self, key: str) -> None:
        refuse_after(self.take(key))

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


def refuse_after(wait: float) -> None:
    """429 with Retry-After when `wait` (seconds) is not zero."""
    if wait:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(f"Rate limit exceeded; retry in {seconds} s", headers={"Retry-After": str(seconds)})
