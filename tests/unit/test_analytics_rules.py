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
