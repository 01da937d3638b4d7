"""Inbound queue metric definitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadpipe.analytics.rules import conversion_rate, start_of_day


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


def test_queue_metrics_from_groups() -> None:
    from leadpipe.analytics.rules import QueueGroup, queue_metrics

    groups = [
        QueueGroup("new", "Facebook Ads", "Solar", True, False, 5, 2),
        QueueGroup("qualified", "Google Ads", "Solar", True, False, 3, 1),
        QueueGroup("won", "Google Ads", "Roofing", True, True, 2, 0),
        QueueGroup("lost", None, None, False, False, 2, 0),
        QueueGroup("site_visit", "Angi", "Roofing", True, False, 1, 0),
    ]
    assert queue_metrics(groups) == {
        "totalLeads": 13,
        "newLeads": 5,
        "pending": 4,
        "todayLeads": 3,
        "topProduct": "Solar",
        "topSource": "Facebook Ads",
        "conversionRate": "15.4%",
    }


def test_ties_go_to_the_first_name() -> None:
    from leadpipe.analytics.rules import QueueGroup, queue_metrics

    groups = [
        QueueGroup("new", "B", "Y", True, False, 1, 0),
        QueueGroup("new", "A", "X", True, False, 1, 0),
    ]
    metrics = queue_metrics(groups)
    assert (metrics["topSource"], metrics["topProduct"]) == ("A", "X")
