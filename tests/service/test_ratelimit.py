"""The per-key token bucket, on a fake clock (no test depends on real time)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataward.errors import InputError, RateLimitedError
from dataward.service.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _admitted(limiter: RateLimiter, key: str, n: int) -> int:
    ok = 0
    for _ in range(n):
        try:
            limiter.check(key)
            ok += 1
        except RateLimitedError:
            pass
    return ok


def test_burst_then_refused_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 5, clock=clock)
    assert _admitted(limiter, "k", 5) == 5
    with pytest.raises(RateLimitedError) as err:
        limiter.check("k")
    assert err.value.retry_after == pytest.approx(0.1)
    assert err.value.http_status == 429
    assert err.value.code == "rate_limited"


def test_tokens_refill_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 5, clock=clock)
    _admitted(limiter, "k", 5)
    clock.now += 0.25  # 2.5 tokens
    assert _admitted(limiter, "k", 5) == 2
    clock.now += 100  # never more than the burst
    assert _admitted(limiter, "k", 10) == 5


def test_refused_requests_do_not_consume() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 1, clock=clock)
    limiter.check("k")
    for _ in range(10):
        with pytest.raises(RateLimitedError):
            limiter.check("k")
    clock.now += 1.0
    limiter.check("k")


def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(1, 2, clock=FakeClock())
    assert _admitted(limiter, "a", 5) == 2
    assert _admitted(limiter, "b", 5) == 2


@given(
    rate=st.floats(0.5, 1000),
    burst=st.integers(1, 50),
    steps=st.lists(st.floats(0, 2), min_size=1, max_size=40),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, steps: list[float]
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, burst, clock=clock)
    admitted = 0
    for dt in steps:
        clock.now += dt
        admitted += _admitted(limiter, "k", 3)
    assert admitted <= burst + rate * clock.now + 1e-6


def test_idle_full_buckets_are_dropped() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 5, clock=clock)
    for i in range(100):
        limiter.check(f"key{i}")
    assert len(limiter) == 100
    clock.now += 10  # every bucket has refilled
    limiter.check("fresh")
    assert len(limiter) == 1


def test_memory_stays_bounded_under_many_busy_keys() -> None:
    limiter = RateLimiter(1, 5, clock=FakeClock(), max_keys=50)
    for i in range(1000):
        limiter.check(f"key{i}")
        assert len(limiter) <= 50


def test_thread_safe_count() -> None:
    limiter = RateLimiter(0.001, 100, clock=FakeClock())

    def hit(_: int) -> bool:
        try:
            limiter.check("shared")
        except RateLimitedError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(hit, range(1000)))
    assert sum(results) == 100


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (1, 0)])
def test_bad_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(InputError):
        RateLimiter(rate, burst)
