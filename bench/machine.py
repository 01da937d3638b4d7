"""How fast this machine runs Python and syncs its disk right now, printed beside every
benchmark figure.

Shared machines change speed from minute to minute (on the 2-core development machine by
up to 2x within an hour); a figure is only comparable with one taken at a similar speed.
"""

from __future__ import annotations

import os
import tempfile
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


def fsync_ms(count: int = 200, size: int = 16384) -> list[float]:
    """Milliseconds of each of ``count`` data syncs of a small write, sorted: what every
    PostgreSQL commit waits for (its WAL flush). Taken in the temporary directory, which
    is on the database's disk on the development machine."""
    block = os.urandom(size)
    times = []
    with tempfile.NamedTemporaryFile(prefix="leadpipe-bench-") as f:
        for i in range(count):
            os.pwrite(f.fileno(), block, (i % 64) * size)
            started = time.perf_counter()
            os.fdatasync(f.fileno())
            times.append((time.perf_counter() - started) * 1000)
            time.sleep(0.002)
    return sorted(times)


def describe_disk() -> str:
    times = fsync_ms()
    p99 = times[min(len(times) - 1, round(len(times) * 0.99))]
    return (
        f"disk sync: p50 {times[len(times) // 2]:.2f} ms, p99 {p99:.2f} ms, "
        f"max {times[-1]:.1f} ms over {len(times)} syncs (a commit waits for one)"
    )
