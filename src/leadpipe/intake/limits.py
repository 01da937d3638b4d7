"""Delivery rate limits per webhook, per provider and per client IP, in counters that
every worker shares when they live in Redis (``LEADPIPE_RATE_LIMIT_STORAGE``)."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from leadpipe.config import Settings
from leadpipe.errors import RateLimited

log = logging.getLogger("leadpipe.intake")


def sync_storage_url(url: str) -> str:
    """Intake counts on the database's threads, so it takes the synchronous form of the
    storage the API's (asynchronous) limiter is configured with."""
    return url.removeprefix("async+")


class IntakeLimits:
    """Counts deliveries; refuses one over its limit with 429 and the headers that say
    when to retry. Counting fails open: a lead is worth more than a limit, and an
    unreachable Redis must not refuse every delivery."""

    def __init__(self, storage_url: str = "memory://", ip_limit: str = "600/minute") -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(sync_storage_url(storage_url)))
        self.ip_limit = parse(ip_limit)

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeLimits:
        return cls(settings.rate_limit_storage, settings.intake_ip_rate_limit)

    def per_webhook(self, webhook_id: str, amount: int, seconds: int) -> None:
        self._hit("webhook", webhook_id, RateLimitItemPerSecond(amount, seconds))

    def per_provider(self, provider_id: str, amount: int, seconds: int) -> None:
        self._hit("provider", provider_id, RateLimitItemPerSecond(amount, seconds))

    def per_ip(self, ip: str) -> None:
        self._hit("client IP", ip, self.ip_limit)

    def _hit(self, kind: str, key: str, item: RateLimitItem) -> None:
        try:
            if self.limiter.hit(item, "intake", kind, key):
                return
            stats = self.limiter.get_window_stats(item, "intake", kind, key)
        except Exception:
            log.warning("could not count a delivery against its rate limit", exc_info=True)
            return
        reset = math.ceil(stats.reset_time)
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
