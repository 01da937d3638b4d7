"""How the inbound queue's numbers are defined (seed 001's MetricsGrid)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

OPEN_STAGES_EXCLUDED = ("new", "won", "lost", "inactive")


def conversion_rate(converted: int, total: int) -> str:
    """Converted leads over the leads of the same set, as seed 001's ``"15.2%"``: it can
    never exceed 100% (DESIGN §2.11)."""
    if total == 0:
        return "0.0%"
    rate = (Decimal(converted) * 100 / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{rate}%"


def start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class QueueGroup:
    stage: str
    source: str | None
    product: str | None
    is_active: bool
    is_converted: bool
    count: int
    today: int


def _top(counts: Counter[str]) -> str | None:
    # Most leads first; ties go to the alphabetically first name, so the answer is stable.
    return min(counts, key=lambda name: (-counts[name], name)) if counts else None


def queue_metrics(groups: Iterable[QueueGroup]) -> dict[str, Any]:
    """Seed 001's metrics: totalLeads, newLeads (in the new stage), pending (open and past
    new: being worked), todayLeads (since UTC midnight), topProduct, topSource and
    conversionRate, all over the same set of leads."""
    total = new = pending = today = converted = 0
    products: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for g in groups:
        total += g.count
        today += g.today
        new += g.count if g.stage == "new" else 0
        pending += g.count if g.is_active and g.stage not in OPEN_STAGES_EXCLUDED else 0
        converted += g.count if g.is_converted else 0
        if g.product:
            products[g.product] += g.count
        if g.source:
            sources[g.source] += g.count
    return {
        "totalLeads": total,
        "newLeads": new,
        "pending": pending,
        "todayLeads": today,
        "topProduct": _top(products),
        "topSource": _top(sources),
        "conversionRate": conversion_rate(converted, total),
    }
