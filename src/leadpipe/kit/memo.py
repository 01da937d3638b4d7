"""Remembering a value for a while: for numbers that may lag a little behind the data."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Remembered(Generic[V]):
    """Values by key, each kept ``seconds`` after it was made; at most ``limit`` keys."""

    def __init__(self, seconds: float, limit: int = 1024) -> None:
        self.seconds = seconds
        self.limit = limit
        self._values: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        found = self.found(key)
        if found is not None:
            return found
        value = make()
        self.keep(key, value)
        return value

    def found(self, key: Hashable) -> V | None:
        """The value kept for ``key`` while it is fresh; None otherwise (for a value made
        asynchronously, then kept)."""
        kept = self._values.get(key)
        return kept[1] if kept is not None and kept[0] > time.monotonic() else None

    def keep(self, key: Hashable, value: V) -> None:
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = (time.monotonic() + self.seconds, value)
