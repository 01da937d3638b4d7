"""Counting how many of something run at once, per key, in one process."""

from __future__ import annotations

from collections.abc import Hashable


class Slots:
    """At most ``limit`` holders per key at once. For one event loop: not thread-safe."""

    def __init__(self) -> None:
        self._taken: dict[Hashable, int] = {}

    def take(self, key: Hashable, limit: int) -> bool:
        """A slot for ``key``, if fewer than ``limit`` are taken; False when all are."""
        taken = self._taken.get(key, 0)
        if taken >= limit:
            return False
        self._taken[key] = taken + 1
        return True

    def give_back(self, key: Hashable) -> None:
        left = self._taken.get(key, 0) - 1
        if left > 0:
            self._taken[key] = left
        else:
            self._taken.pop(key, None)

    def taken(self, key: Hashable) -> int:
        return self._taken.get(key, 0)
