"""Logging helpers."""

from __future__ import annotations

import logging
import time


class ThrottledWarning:
    """Warns at most every ``every`` seconds, with the number of occurrences since the
    last warning: one line per outage, not one per request."""

    def __init__(self, log: logging.Logger, message: str, every: float) -> None:
        self.log = log
        self.message = message
        self.every = every
        self._last = -every
        self._count = 0

    def __call__(self, exc: BaseException) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last < self.every:
            return
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        self.log.warning(
            "%s: %d failed since the last warning, the latest with: %s",
            self.message,
            self._count,
            detail[0] if detail else "",
        )
        self._last, self._count = now, 0
