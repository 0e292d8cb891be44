"""Finding 7: past the bucket bound every new caller got a 500 (`_prune` was dead code).

The keys are strings an unauthenticated caller chooses (survey-page addresses, spoofed
`X-Forwarded-For`, made-up OAuth client ids): crossing the bound must keep answering and
keep memory bounded.
"""

from gateway.edge.ratelimit import MAX_KEYS, RateLimiter


def test_crossing_a_small_bound_keeps_answering_and_stays_bounded() -> None:
    limiter = RateLimiter(1.0, 5, max_keys=1_000)
    for n in range(5_000):
        assert limiter.take(f"ip:10.0.{n // 256}.{n % 256}") == 0.0
        assert len(limiter) <= 1_000


def test_crossing_the_default_bound_keeps_answering() -> None:
    limiter = RateLimiter(200.0, 400)
    for n in range(MAX_KEYS + 1_000):
        limiter.take(f"oauth:csc_made_up_{n}")
    assert len(limiter) <= MAX_KEYS


def test_a_busy_caller_keeps_its_bucket_through_a_flood_of_new_keys() -> None:
    # Least recently used buckets go first: a caller in use is not forgiven by the flood.
    limiter = RateLimiter(0.001, 3, max_keys=100)
    for _ in range(3):
        limiter.take("key:busy")
    for n in range(1_000):
        limiter.take(f"ip:flood-{n}")
        limiter.waiting("key:busy")
        if n % 10 == 0:
            assert limiter.take("key:busy") > 0  # still empty: refused, and moved to the back
