"""How the inbound queue's numbers are defined (seed 001's MetricsGrid)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
class StateCount:
    """How many leads of a set sit in a stage, open or closed, converted or not."""

    stage: str
    is_active: bool
    is_converted: bool
    count: int


def _top(counts: Mapping[str, int]) -> str | None:
    # Most leads first; ties go to the alphabetically first name, so the answer is stable.
    named = {name: n for name, n in counts.items() if name and n > 0}
    return min(named, key=lambda name: (-named[name], name)) if named else None


def queue_metrics(
    states: Iterable[StateCount],
    *,
    products: Mapping[str, int],
    sources: Mapping[str, int],
    today: int,
) -> dict[str, Any]:
    """Seed 001's metrics: totalLeads, newLeads (in the new stage), pending (open and past
    new: being worked), todayLeads (since UTC midnight), topProduct, topSource and
    conversionRate, all over the same set of leads. ``products`` and ``sources`` count
    that set's leads per name ('' for none, never the top)."""
    total = new = pending = converted = 0
    for s in states:
        total += s.count
        new += s.count if s.stage == "new" else 0
        pending += s.count if s.is_active and s.stage not in OPEN_STAGES_EXCLUDED else 0
        converted += s.count if s.is_converted else 0
    return {
        "totalLeads": total,
        "newLeads": new,
        "pending": pending,
        "todayLeads": today,
        "topProduct": _top(products),
        "topSource": _top(sources),
        "conversionRate": conversion_rate(converted, total),
    }
