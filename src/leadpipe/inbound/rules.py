"""How the inbound queue's numbers are defined (seed 001's MetricsGrid)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
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


def start_of_day(now: datetime, tz: tzinfo | None = None) -> datetime:
    """Midnight of ``now``'s day: in ``tz`` when given (the dashboard's "today" is the
    workspace's day), else in ``now``'s own zone (seed 001's API counts from UTC midnight)."""
    local = now.astimezone(tz) if tz is not None else now
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(now.tzinfo) if tz is not None else midnight


@dataclass(frozen=True, slots=True)
class StateCount:
    """How many leads of a set sit in a stage, open or closed, converted or not."""

    stage: str
    is_active: bool
    is_converted: bool
    count: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    """How many leads of a set share a stage, state, source and product."""

    stage: str
    is_active: bool
    is_converted: bool
    source: str
    product: str
    count: int


def metrics_of(cells: Iterable[Breakdown], today: int) -> dict[str, Any]:
    """``queue_metrics`` from a breakdown of the set."""
    cells = list(cells)
    states: dict[tuple[str, bool, bool], int] = {}
    products: dict[str, int] = {}
    sources: dict[str, int] = {}
    for c in cells:
        key = (c.stage, bool(c.is_active), bool(c.is_converted))
        states[key] = states.get(key, 0) + c.count
        products[c.product] = products.get(c.product, 0) + c.count
        sources[c.source] = sources.get(c.source, 0) + c.count
    return queue_metrics(
        [StateCount(*key, n) for key, n in states.items()],
        products=products,
        sources=sources,
        today=today,
    )


def _top(counts: Mapping[str, int]) -> str | None:
    # Most leads first; ties go to the alphabetically first name, so the answer is stable.
    named = {name: n for name, n in counts.items() if name and n > 0}
    return min(named, key=lambda name: (-named[name], name)) if named else None


def states_and_names(
    cells: Iterable[Breakdown],
) -> tuple[list[StateCount], dict[str, int], dict[str, int]]:
    """One breakdown of a set as what ``queue_metrics`` reads: its leads per stage and
    state, per product and per source (one statement instead of three)."""
    states: dict[tuple[str, bool, bool], int] = {}
    products: dict[str, int] = {}
    sources: dict[str, int] = {}
    for c in cells:
        key = (c.stage, c.is_active, c.is_converted)
        states[key] = states.get(key, 0) + c.count
        products[c.product] = products.get(c.product, 0) + c.count
        sources[c.source] = sources.get(c.source, 0) + c.count
    return [StateCount(*key, n) for key, n in states.items()], products, sources


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


# -- the dashboard's metrics grid -------------------------------------------------------

COUNTED_METRICS = ("totalLeads", "newLeads", "pending", "todayLeads")


def percent_change(now: int, before: int) -> float | None:
    """``now`` against ``before`` in percent; None when there was nothing before."""
    if before == 0:
        return None
    return round((now - before) * 100 / before, 1)


def rate_points(rate: str) -> float:
    return float(rate.rstrip("%"))


def metric_changes(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Each metric's change against the previous period of the same length: a percent
    for the counts, percentage points for the conversion rate, and the previous leader
    for the top product and source."""
    changes: dict[str, Any] = {
        name: percent_change(current[name], previous[name]) for name in COUNTED_METRICS
    }
    changes["conversionRate"] = round(
        rate_points(current["conversionRate"]) - rate_points(previous["conversionRate"]), 1
    )
    changes["topProduct"] = previous["topProduct"]
    changes["topSource"] = previous["topSource"]
    return changes


def heat_map(cells: Iterable[tuple[str, str, int]]) -> dict[str, Any]:
    """Counts by source (rows) and product (columns), each in order of its total, with
    each cell's share of the largest for its shade."""
    counts: dict[tuple[str, str], int] = {}
    by_source: dict[str, int] = {}
    by_product: dict[str, int] = {}
    for source, product, n in cells:
        counts[(source, product)] = counts.get((source, product), 0) + n
        by_source[source] = by_source.get(source, 0) + n
        by_product[product] = by_product.get(product, 0) + n
    sources = sorted(by_source, key=lambda k: (-by_source[k], k))
    products = sorted(by_product, key=lambda k: (-by_product[k], k))
    largest = max(counts.values(), default=0)
    return {
        "sources": sources,
        "products": products,
        "cells": {
            (s, p): {"count": n, "share": n / largest if largest else 0.0}
            for (s, p), n in counts.items()
        },
    }
