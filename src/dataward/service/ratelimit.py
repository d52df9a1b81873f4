"""A per-key token bucket: ``burst`` requests at once, then ``rate_per_second`` sustained.

Each key id has a bucket holding up to ``burst`` tokens, refilled continuously at
``rate_per_second``; a request takes one token or is refused with
:class:`~dataward.errors.RateLimitedError` telling when the next token arrives. A full bucket
is the same as no bucket, so idle keys whose bucket has refilled are dropped: memory stays
bounded by the keys active in the last ``burst / rate_per_second`` seconds (and by
``max_keys`` in any case). Per process: each worker limits on its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from dataward.errors import InputError, RateLimitedError

__all__ = ["RateLimiter"]


class RateLimiter:
    """Thread-safe token buckets keyed by API key id."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if not (rate_per_second > 0 and math.isfinite(rate_per_second)):
            raise InputError("the rate limit must be a positive number of requests per second")
        if burst < 1:
            raise InputError("the rate-limit burst must be at least 1 request")
        if max_keys < 1:
            raise InputError("the rate limiter must track at least 1 key")
        self.rate = float(rate_per_second)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)
        # sweep full buckets at most once per refill time (an empty bucket refills in it)
        self._sweep_every = max(self.burst / self.rate, 1.0)
        self._next_sweep = clock() + self._sweep_every

    def check(self, key_id: str) -> None:
        """Take one token for ``key_id``, or raise :class:`RateLimitedError`."""
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep(now)
            bucket = self._buckets.get(key_id)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._sweep(now)
                    self._shrink()
                tokens = self.burst
            else:
                tokens = min(self.burst, bucket[0] + max(0.0, now - bucket[1]) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return
            self._buckets[key_id] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        raise RateLimitedError(
            f"too many requests for this API key (limit {self.rate:g}/s, burst "
            f"{self.burst:g}); retry after {wait:.3f} s",
            retry_after=wait,
        )

    def __len__(self) -> int:
        """How many buckets are held (those not known to be full)."""
        with self._lock:
            return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Drop the buckets that have refilled (lossless: a full bucket is the same as none)."""
        self._buckets = {
            k: (tok, at)
            for k, (tok, at) in self._buckets.items()
            if tok + max(0.0, now - at) * self.rate < self.burst
        }
        self._next_sweep = now + self._sweep_every

    def _shrink(self) -> None:
        """Still full of busy keys: forget the least recently seen half (they restart full)."""
        if len(self._buckets) >= self.max_keys:
            keep = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[self.max_keys // 2 :]
            self._buckets = dict(keep)
