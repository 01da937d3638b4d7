"""The imports' pure rules the dashboard shows: when an import may be resumed, and who
started one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadpipe.imports.rules import STALLED_AFTER, resumable
from leadpipe.web.rules import imported_by

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "quiet_for", "expected"),
    [
        ("failed", timedelta(0), True),
        ("done", STALLED_AFTER * 10, False),
        # Running and moving: a second run would apply its rows twice.
        ("running", timedelta(seconds=5), False),
        ("running", STALLED_AFTER - timedelta(seconds=1), False),
        # Its process ended (a restart, a crash): nothing moves it on any more.
        ("running", STALLED_AFTER, True),
        ("pending", timedelta(seconds=5), False),
        ("pending", STALLED_AFTER + timedelta(minutes=1), True),
    ],
)
def test_an_import_is_resumed_when_it_failed_or_stopped(
    status: str, quiet_for: timedelta, expected: bool
) -> None:
    imp = {"status": status, "updated_at": NOW - quiet_for}
    assert resumable(imp, NOW) is expected


@pytest.mark.parametrize(
    ("created_by", "shown"),
    [
        ("user:7f0c", "Ana Lopez"),
        ("user:gone", "a former member"),
        ("api_key:12", "an API key"),
        ("cli", "the command line"),
    ],
)
def test_who_started_an_import(created_by: str, shown: str) -> None:
    assert imported_by(created_by, {"7f0c": "Ana Lopez"}) == shown
