"""Per-caller token bucket, in this process's memory.

Scale-out note: with N gateway replicas each caller effectively gets N times the rate. A
deployment that needs an exact global limit moves the buckets to a shared store (Redis
INCR/EXPIRE or a GCRA script); the interface here (`take(key) -> retry_after`) stays.
"""

import math
import time

from shared.problems import TooManyRequests

_PRUNE_AT = 100_000


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int) -> None:
        self.rate = rate_per_second
        self.burst = float(burst)
        # key -> [tokens left, monotonic time of the last refill]
        self._buckets: dict[str, list[float]] = {}

    def take(self, key: str) -> float:
        """Spend one token for `key`; 0.0 when allowed, else seconds until a token is back."""
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            self._buckets[key] = [self.burst - 1.0, now]
            return 0.0
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

    def check(self, key: str) -> None:
        refuse_after(self.take(key))


def refuse_after(wait: float) -> None:
    """429 with Retry-After when `wait` (seconds) is not zero."""
    if wait:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(f"Rate limit exceeded; retry in {seconds} s", headers={"Retry-After": str(seconds)})

    def _prune(self, now: float) -> None:
        # A bucket that would be full again carries no information: drop it.
        full_after = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b[1] < full_after}
