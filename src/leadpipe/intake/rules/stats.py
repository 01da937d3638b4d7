"""A webhook's delivery stats: per period, its deliveries by outcome and their
processing times.

Pure: no database, no HTTP."""

from __future__ import annotations

from datetime import timedelta

# The periods a webhook's stats cover, by their label.
STATS_PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
OUTCOMES = ("success", "error", "duplicate")


def percentile(ordered: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0-100) of values sorted ascending."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1]


def period_stats(counts: dict[str, int], times_ms: list[float]) -> dict[str, object]:
    """One period: deliveries by outcome with their share (percent, one decimal) and the
    processing time's p50 / p95 / p99 in milliseconds."""
    total = sum(counts.get(o, 0) for o in OUTCOMES)
    ordered = sorted(times_ms)

    def rate(outcome: str) -> float:
        return round(counts.get(outcome, 0) * 100 / total, 1) if total else 0.0

    def ms(q: float) -> float | None:
        found = percentile(ordered, q)
        return round(found, 1) if found is not None else None

    return {
        "deliveries": total,
        **{outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
        "success_rate": rate("success"),
        "error_rate": rate("error"),
        "duplicate_rate": rate("duplicate"),
        "processing_ms": {"p50": ms(50), "p95": ms(95), "p99": ms(99)},
    }
