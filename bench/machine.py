"""How fast this machine runs Python right now, printed beside every benchmark figure.

Shared machines change speed from minute to minute (on the 2-core development machine by
up to 2x within an hour); a figure is only comparable with one taken at a similar speed.
"""

from __future__ import annotations

import time


def python_loop_ms() -> float:
    """Milliseconds for a fixed pure-Python loop (best of three): lower is faster."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def describe() -> str:
    return (
        f"machine speed: {python_loop_ms():.0f} ms per million-step Python loop (lower is faster)"
    )
