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
        now = time.monotonic()
        found = self._values.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = make()
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[key] = (now + self.seconds, value)
        return value
