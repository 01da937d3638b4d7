"""Delivery rate limits per webhook, per provider and per client IP, in counters that
every worker shares when they live in Redis (``LEADPIPE_RATE_LIMIT_STORAGE``). Their keys
start with the installation's id, so that installations sharing a Redis count apart."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from leadpipe.config import Settings
from leadpipe.errors import RateLimited
from leadpipe.kit.logs import ThrottledWarning
from leadpipe.storage.identity import installation_id

log = logging.getLogger("leadpipe.intake")

# Keys a worker's own counters hold before the stale ones are dropped (one per client IP).
MAX_LOCAL_KEYS = 100_000


class Windows(Protocol):
    def hit(self, item: RateLimitItem, key: str) -> float | None:
        """Count one delivery; None when it is within the limit, else when to retry."""


class SharedWindows:
    """Counters in Redis (the `limits` library's sliding window counter): one limit for
    every worker of the installation ``prefix`` names."""

    def __init__(self, storage_url: str, prefix: str) -> None:
        self.limiter = SlidingWindowCounterRateLimiter(storage_from_string(storage_url))
        self.prefix = prefix

    def hit(self, item: RateLimitItem, key: str) -> float | None:
        if self.limiter.hit(item, self.prefix, "intake", key):
            return None
        return self.limiter.get_window_stats(item, self.prefix, "intake", key).reset_time


class LocalWindows:
    """Sliding window counters in this worker's memory, as ``SharedWindows`` counts them.
    Not the library's memory storage: it re-arms a timer thread every 10 ms while it
    counts, which took 7% of a busy worker's time from the intake it was counting."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (start of the current window, its count, the previous window's count)
        self._windows: dict[str, tuple[float, int, int]] = {}

    def hit(self, item: RateLimitItem, key: str) -> float | None:
        length = item.get_expiry()
        now = self._clock()
        start = now - now % length
        with self._lock:
            began, count, previous = self._windows.get(key, (start, 0, 0))
            if began != start:  # a later window: the last one's count weighs in, or none
                previous, count = (count if start - began == length else 0), 0
            weight = 1 - (now - start) / length
            if previous * weight + count + 1 > item.amount:
                self._windows[key] = (start, count, previous)
                return start + length if count >= item.amount else now + length * weight
            if len(self._windows) >= MAX_LOCAL_KEYS:
                self._forget_stale(now, length)
            self._windows[key] = (start, count + 1, previous)
            return None

    def _forget_stale(self, now: float, length: int) -> None:
        self._windows = {k: w for k, w in self._windows.items() if now - w[0] < 2 * length}


def windows_for(storage_url: str, prefix: str) -> Windows:
    """The counters ``LEADPIPE_RATE_LIMIT_STORAGE`` names, under ``prefix`` when shared.
    Intake counts on the database's threads, so it takes the synchronous form of the
    storage the API's (asynchronous) limiter is configured with."""
    url = storage_url.removeprefix("async+")
    return LocalWindows() if url.startswith("memory://") else SharedWindows(url, prefix)


class IntakeLimits:
    """Counts deliveries; refuses one over its limit with 429 and the headers that say
    when to retry. Counting fails open: a lead is worth more than a limit, and an
    unreachable Redis must not refuse every delivery."""

    def __init__(
        self, storage_url: str = "memory://", ip_limit: str = "600/minute", prefix: str = ""
    ) -> None:
        self.windows = windows_for(storage_url, prefix)
        self.ip_limit = parse(ip_limit)
        self._warn_uncounted = ThrottledWarning(
            log, "deliveries not counted against their rate limits", every=10.0
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeLimits:
        return cls(
            settings.rate_limit_storage, settings.intake_ip_rate_limit, installation_id(settings)
        )

    def per_webhook(self, webhook_id: str, amount: int, seconds: int) -> None:
        self._hit("webhook", webhook_id, RateLimitItemPerSecond(amount, seconds))

    def per_provider(self, provider_id: str, amount: int, seconds: int) -> None:
        self._hit("provider", provider_id, RateLimitItemPerSecond(amount, seconds))

    def per_ip(self, ip: str) -> None:
        self._hit("client IP", ip, self.ip_limit)

    def _hit(self, kind: str, key: str, item: RateLimitItem) -> None:
        try:
            retry_at = self.windows.hit(item, f"{kind}:{key}:{item.amount}/{item.get_expiry()}")
        except Exception as exc:
            # Counting fails open (a Redis restart must not refuse deliveries), and says so
            # once per outage rather than once per delivery.
            self._warn_uncounted(exc)
            return
        if retry_at is None:
            return
        reset = math.ceil(retry_at)
        raise RateLimited(
            f"Rate limit of {item.amount} deliveries per {_window(item)} exceeded for this {kind}",
            headers={
                "Retry-After": str(max(1, reset - math.floor(time.time()))),
                "X-RateLimit-Limit": str(item.amount),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        )


def _window(item: RateLimitItem) -> str:
    seconds = item.get_expiry()
    if seconds % 3600 == 0:
        return "hour" if seconds == 3600 else f"{seconds // 3600} hours"
    if seconds % 60 == 0:
        return "minute" if seconds == 60 else f"{seconds // 60} minutes"
    return "second" if seconds == 1 else f"{seconds} seconds"
