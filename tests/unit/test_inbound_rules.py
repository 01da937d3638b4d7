"""Inbound queue metric definitions."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from leadpipe.inbound.rules import (
    Breakdown,
    StateCount,
    conversion_rate,
    queue_metrics,
    start_of_day,
    states_and_names,
)


@pytest.mark.parametrize(
    ("converted", "total", "expected"),
    [
        (491, 3229, "15.2%"),
        (0, 0, "0.0%"),
        (3, 3, "100.0%"),
        (1, 3, "33.3%"),
        (2, 3, "66.7%"),
    ],
)
def test_conversion_rate_is_a_share_of_the_same_set(
    converted: int, total: int, expected: str
) -> None:
    assert conversion_rate(converted, total) == expected


def test_today_starts_at_utc_midnight() -> None:
    now = datetime(2025, 10, 18, 15, 4, 5, 6, tzinfo=UTC)
    assert start_of_day(now) == datetime(2025, 10, 18, tzinfo=UTC)


def test_queue_metrics_from_counts() -> None:
    from leadpipe.inbound.rules import StateCount, queue_metrics

    states = [
        StateCount("new", True, False, 5),
        StateCount("qualified", True, False, 3),
        StateCount("won", True, True, 2),
        StateCount("lost", False, False, 2),
        StateCount("site_visit", True, False, 1),
    ]
    metrics = queue_metrics(
        states,
        products={"Solar": 8, "Roofing": 3, "": 2},
        sources={"Facebook Ads": 5, "Google Ads": 5, "Angi": 1, "": 2},
        today=3,
    )
    assert metrics == {
        "totalLeads": 13,
        "newLeads": 5,
        "pending": 4,
        "todayLeads": 3,
        "topProduct": "Solar",
        "topSource": "Facebook Ads",
        "conversionRate": "15.4%",
    }


def test_leads_without_a_product_or_source_never_top_the_list() -> None:
    from leadpipe.inbound.rules import StateCount, queue_metrics

    metrics = queue_metrics(
        [StateCount("new", True, False, 9)], products={"": 9}, sources={"": 8, "A": 1}, today=0
    )
    assert (metrics["topProduct"], metrics["topSource"]) == (None, "A")


def test_ties_go_to_the_first_name() -> None:
    from leadpipe.inbound.rules import StateCount, queue_metrics

    metrics = queue_metrics(
        [StateCount("new", True, False, 2)],
        products={"Y": 1, "X": 1},
        sources={"B": 1, "A": 1},
        today=0,
    )
    assert (metrics["topSource"], metrics["topProduct"]) == ("A", "X")


def test_one_breakdown_gives_the_queues_states_products_and_sources() -> None:
    cells = [
        Breakdown("new", True, False, "Google Ads", "Solar", 3),
        Breakdown("new", True, False, "", "Solar", 2),
        Breakdown("won", False, True, "Google Ads", "", 1),
    ]
    states, products, sources = states_and_names(cells)
    assert sorted(states, key=lambda s: s.stage) == [
        StateCount("new", True, False, 5),
        StateCount("won", False, True, 1),
    ]
    assert products == {"Solar": 5, "": 1}
    assert sources == {"Google Ads": 4, "": 2}
    metrics = queue_metrics(states, products=products, sources=sources, today=0)
    assert (metrics["totalLeads"], metrics["topProduct"], metrics["topSource"]) == (
        6,
        "Solar",
        "Google Ads",
    )


def test_today_starts_at_the_workspaces_midnight_and_at_utc_midnight_without_a_zone() -> None:
    now = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)  # 22:30 on the 7th in New York
    assert start_of_day(now) == datetime(2026, 12, 8, tzinfo=UTC)
    new_york = start_of_day(now, ZoneInfo("America/New_York"))
    assert new_york == datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # midnight EST, in UTC
    assert new_york.tzinfo == UTC
