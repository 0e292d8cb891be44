"""Password guessing at `POST /v1/auth/login`, held back without holding back the right users.

Two buckets of failures, nothing else counted (a correct password spends nothing):
- per client address: an address that keeps failing (a password sprayer trying many
  usernames) is refused with 429 before any hashing, so it costs no CPU;
- per username: a username that keeps failing is refused, with 429, only to addresses that
  have failed themselves of late; an address with no failures always gets its password
  checked, so the account's owner still signs in while someone guesses at it.
Under a botnet each address fails at most a few times per username; argon2 keeps each try
slow, and the address bucket bounds each address across usernames.

Kept in this process, N gateway replicas behind a round robin would give a guesser N times
the failures: with `CSLOOP_REDIS_URL` the buckets are shared (edge/shared_ratelimit.py).
"""

from collections.abc import Callable

from gateway.edge.ratelimit import Buckets, RateLimiter, refuse_after

# An office behind one NAT mistypes now and then; a sprayer fails hundreds of times a minute.
ADDRESS_FAILURE_BURST = 20
ADDRESS_FAILURES_PER_SECOND = 0.2
# One account: a handful of typos, then one more guess per 10 s.
USERNAME_FAILURE_BURST = 5
USERNAME_FAILURES_PER_SECOND = 0.1


def in_process(_name: str, rate_per_second: float, burst: int) -> Buckets:
    """Buckets of this process (each limiter its own, so needing no name)."""
    return RateLimiter(rate_per_second, burst)


class LoginThrottle:
    def __init__(self, buckets: Callable[[str, float, int], Buckets] = in_process, *,
                 address_burst: int = ADDRESS_FAILURE_BURST, address_rate: float = ADDRESS_FAILURES_PER_SECOND,
                 username_burst: int = USERNAME_FAILURE_BURST, username_rate: float = USERNAME_FAILURES_PER_SECOND) -> None:
        """`buckets(name, rate, burst)`: where the failures are counted (shared_ratelimit.BucketStore.buckets)."""
        self.addresses = buckets("login-address", address_rate, address_burst)
        self.usernames = buckets("login-username", username_rate, username_burst)

    async def check(self, username: str, address: str) -> None:
        """429 before any password work when this attempt is held back."""
        refuse_after(await self.addresses.wait_for(address))
        if not await self.addresses.is_untouched(address):
            refuse_after(await self.usernames.wait_for(username))

    async def failed(self, username: str, address: str) -> None:
        await self.addresses.spend(address)
        await self.usernames.spend(username)
