"""Giving freed memory back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)  # glibc only (not musl, macOS)
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim  # type: ignore[no-any-return]


def give_back_freed_memory() -> None:
    """Return the free pages inside glibc's heaps to the operating system.

    Work spread over threads (a CSV export's pages, read on the database threads) frees
    its memory into each thread's own heap (arena), where glibc keeps it: after five
    exports at once a worker held tens of MiB more than before, for good. A few
    milliseconds; nothing where the C library has no ``malloc_trim``."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
