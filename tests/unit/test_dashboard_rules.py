"""The dashboard's pure rules: the lead table's query string, dates in the workspace's
zone, the metrics' changes, the heat map, sessions and workspaces."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from leadpipe.accounts.rules import (
    SESSION_TOUCH_EVERY,
    chosen_workspace,
    hash_session_token,
    new_session_token,
    session_needs_touch,
    time_zone_of,
    time_zone_problem,
)
from leadpipe.customfields.rules import FieldDefinition
from leadpipe.inbound.rules import Breakdown, heat_map, metric_changes, metrics_of
from leadpipe.kit.memo import Remembered
from leadpipe.web.rules import (
    DEFAULT_COLUMNS,
    TableQuery,
    available_columns,
    badge_ink,
    bulk_result,
    contrast,
    day_end,
    day_start,
    initials,
    moment_of,
    page_count,
    parse_table_query,
    read_column_choice,
    readable_time,
    relative_time,
    shown_columns,
    shown_value,
    zone,
)


@pytest.mark.parametrize(
    ("raw", "expected", "ignored"),
    [
        ({}, TableQuery(), []),
        ({"q": "  ana  ", "stage": "won"}, TableQuery(q="ana", stage=("won",)), []),
        (
            [("stage", "new"), ("stage", "qualified"), ("stage", "new"), ("source", "")],
            TableQuery(stage=("new", "qualified")),
            [],
        ),
        ({"tag": "vip, solar ,,vip"}, TableQuery(tag=("vip", "solar")), []),
        ({"period": "90", "within": "7"}, TableQuery(period=90, within=7), []),
        ({"period": "12"}, TableQuery(), ["period: one of 7, 30, 90"]),
        ({"priority": "sky-high"}, TableQuery(), ["priority: one of low, medium, high, urgent"]),
        (
            {"sort": "name"},
            TableQuery(),
            ["sort: one of created_at, updated_at, estimated_value, lead_score"],
        ),
        ({"created_from": "2026-13-01"}, TableQuery(), ["created_from: not a date (YYYY-MM-DD)"]),
        ({"created_from": "2026-10-01"}, TableQuery(created_from=date(2026, 10, 1)), []),
        ({"idle_days": "0"}, TableQuery(), ["idle_days: a whole number from 1 to 3650"]),
        ({"idle_days": "7", "page": "3"}, TableQuery(idle_days=7, page=3), []),
        ({"size": "1000"}, TableQuery(), ["size: one of 25, 50, 100"]),
        ({"assignee": "bob"}, TableQuery(), ["assignee: not a user"]),
        ({"assignee": "none"}, TableQuery(assignee="none"), []),
        ({"status": "all"}, TableQuery(status="all"), []),
    ],
)
def test_the_table_query_is_read_leniently_and_says_what_it_ignored(
    raw: dict[str, str] | list[tuple[str, str]], expected: TableQuery, ignored: list[str]
) -> None:
    assert parse_table_query(raw) == (expected, ignored)


def test_a_table_query_links_only_what_differs_from_the_defaults() -> None:
    query = TableQuery(stage=("won",), page=3)
    assert query.url("/app") == "/app?stage=won&page=3"
    assert query.url("/app", page=1) == "/app?stage=won"
    several = TableQuery(stage=("new", "qualified"), period=90)
    assert several.url("/app") == "/app?stage=new&stage=qualified&period=90"
    assert several.filter_params() == {"stage": "new,qualified"}
    assert TableQuery().url("/app") == "/app"
    assert TableQuery(created_from=date(2026, 1, 2)).params() == {"created_from": "2026-01-02"}


@pytest.mark.parametrize(
    ("query", "default"),
    [
        (TableQuery(), True),
        (TableQuery(size=100), True),
        (TableQuery(page=2), False),
        (TableQuery(stage=("new",)), False),
        (TableQuery(period=90), True),
        (TableQuery(order="asc"), False),
        (TableQuery(status="all"), False),
    ],
)
def test_new_leads_are_put_on_top_of_the_default_view_only(
    query: TableQuery, default: bool
) -> None:
    assert query.is_default_view is default


def test_dates_are_days_of_the_workspaces_zone() -> None:
    chicago = zone("America/Chicago")
    assert day_start(date(2026, 7, 4), chicago) == datetime(2026, 7, 4, 5, tzinfo=UTC)
    assert day_end(date(2026, 7, 4), chicago) == datetime(2026, 7, 5, 5, tzinfo=UTC)
    assert zone("Not/AZone").key == "UTC"
    assert zone(None).key == "UTC"


@pytest.mark.parametrize(
    ("moment", "tz", "shown"),
    [
        (datetime(2026, 12, 7, 14, 5, tzinfo=UTC), "UTC", "7 Dec 2026, 14:05"),
        (datetime(2026, 12, 7, 14, 5, tzinfo=UTC), "America/Chicago", "7 Dec 2026, 08:05"),
        (datetime(2026, 7, 4, 3, 30, tzinfo=UTC), "America/New_York", "3 Jul 2026, 23:30"),
        (datetime(2026, 7, 4, 23, 30, tzinfo=UTC), "Asia/Kolkata", "5 Jul 2026, 05:00"),
    ],
)
def test_moments_read_as_a_date_and_a_time_of_the_workspaces_zone(
    moment: datetime, tz: str, shown: str
) -> None:
    assert readable_time(moment, zone(tz)) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (5, "just now"),
        (59, "just now"),
        (120, "2 min ago"),
        (7200, "2 h ago"),
        (86400 * 3, "3 d ago"),
    ],
)
def test_recent_moments_read_as_how_long_ago(seconds: int, shown: str) -> None:
    now = datetime(2026, 12, 7, 14, 5, tzinfo=UTC)
    assert relative_time(now - timedelta(seconds=seconds), now) == shown


@pytest.mark.parametrize(
    ("stored", "moment"),
    [
        ("2026-12-07T14:05:00+00:00", datetime(2026, 12, 7, 14, 5, tzinfo=UTC)),
        ("2026-12-07T14:05:00Z", datetime(2026, 12, 7, 14, 5, tzinfo=UTC)),
        (" 2026-12-07 08:05:00-06:00 ", datetime(2026, 12, 7, 14, 5, tzinfo=UTC)),
        # A time without its zone, or a form's own wording, is shown as sent.
        ("2026-12-07 14:05:00", None),
        ("12/07/2026 2:05 PM", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_a_consent_time_sent_as_text_is_a_moment_when_it_says_its_zone(
    stored: str | None, moment: datetime | None
) -> None:
    assert moment_of(stored) == moment


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("America/Chicago", False),
        ("Europe/Berlin", False),
        ("UTC", False),
        ("america/chicago", True),
        ("Mars/Olympus_Mons", True),
        ("America", True),  # a folder of the zone database, not a zone
        ("../../etc/passwd", True),
        ("", True),
        ("\x00", True),
    ],
)
def test_a_workspace_time_zone_is_an_iana_name(name: str, problem: bool) -> None:
    assert (time_zone_problem(name) is not None) is problem


def test_a_workspace_without_a_time_zone_shows_utc() -> None:
    assert time_zone_of(None) == time_zone_of({}) == "UTC"
    assert time_zone_of({"time_zone": "Europe/Berlin"}) == "Europe/Berlin"


def test_pages_and_initials() -> None:
    assert [page_count(n, 50) for n in (0, 1, 50, 51)] == [1, 1, 1, 2]
    assert initials("ana", "lopez") == "AL"
    assert initials(None, None, "zed@example.com") == "Z"
    assert initials(None, None) == "?"


def _cells(*rows: tuple[str, bool, bool, str, str, int]) -> list[Breakdown]:
    return [Breakdown(*row) for row in rows]


def test_metrics_from_one_breakdown() -> None:
    cells = _cells(
        ("new", True, False, "Google Ads", "Solar", 6),
        ("qualified", True, False, "Google Ads", "HVAC", 2),
        ("won", True, True, "Referral", "Solar", 2),
    )
    metrics = metrics_of(cells, today=3)
    assert metrics == {
        "totalLeads": 10,
        "newLeads": 6,
        "pending": 2,
        "todayLeads": 3,
        "topProduct": "Solar",
        "topSource": "Google Ads",
        "conversionRate": "20.0%",
    }


def test_changes_against_the_previous_period() -> None:
    now = metrics_of(_cells(("new", True, False, "Web", "Solar", 12)), today=4)
    before = metrics_of(
        _cells(("new", True, False, "Ads", "HVAC", 8), ("won", True, True, "Ads", "HVAC", 2)),
        today=0,
    )
    changes = metric_changes(now, before)
    assert changes["totalLeads"] == 20.0  # 12 against 10
    assert changes["newLeads"] == 50.0  # 12 against 8
    assert changes["todayLeads"] is None  # nothing to compare with
    assert changes["conversionRate"] == -20.0  # points: 0% against 20%
    assert (changes["topProduct"], changes["topSource"]) == ("HVAC", "Ads")


def test_the_heat_map_orders_by_totals_and_shades_by_the_largest_cell() -> None:
    heat = heat_map(
        [("Ads", "Solar", 10), ("Web", "Solar", 2), ("Web", "HVAC", 5), ("Ads", "Solar", 10)]
    )
    assert heat["sources"] == ["Ads", "Web"]
    assert heat["products"] == ["Solar", "HVAC"]
    assert heat["cells"][("Ads", "Solar")] == {"count": 20, "share": 1.0}
    assert heat["cells"][("Web", "HVAC")]["share"] == 0.25
    assert heat_map([]) == {"sources": [], "products": [], "cells": {}}


def test_a_session_shows_a_workspace_of_its_user() -> None:
    memberships = [{"workspace_id": "a"}, {"workspace_id": "b"}]
    assert chosen_workspace(memberships, "b") == "b"
    assert chosen_workspace(memberships, "elsewhere") == "a"
    assert chosen_workspace([], None) is None


def test_session_tokens_are_random_and_stored_hashed() -> None:
    one, two = new_session_token(), new_session_token()
    assert one != two
    assert len(one) >= 43  # 256 bits
    assert hash_session_token(one) != one
    assert len(hash_session_token(one)) == 64


def test_a_session_is_touched_now_and_then_not_on_every_request() -> None:
    seen = datetime(2026, 12, 3, 12, tzinfo=UTC)
    assert not session_needs_touch(seen, seen + SESSION_TOUCH_EVERY - timedelta(seconds=1))
    assert session_needs_touch(seen, seen + SESSION_TOUCH_EVERY)


def test_a_remembered_value_is_made_again_once_it_expired() -> None:
    made: list[int] = []

    def make() -> int:
        made.append(1)
        return len(made)

    kept = Remembered[int](seconds=60)
    assert [kept.get("k", make), kept.get("k", make), kept.get("other", make)] == [1, 1, 2]
    fresh = Remembered[int](seconds=0)
    assert [fresh.get("k", make), fresh.get("k", make)] == [3, 4]


@pytest.mark.parametrize(
    "colour", ["#D97706", "#3182CE", "#10B981", "#EF4444", "#FFFFFF", "#000000"]
)
def test_a_stage_badge_reads_at_aa_contrast_whatever_its_colour(colour: str) -> None:
    tint = _tint_of(colour)
    assert contrast(badge_ink(colour), tint) >= 4.5


def _tint_of(colour: str) -> str:
    """The badge's background as app.css mixes it: 14% of the colour into white."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(0.14 * c + 0.86 * 255):02x}" for c in channels)


def test_proposal_amber_was_unreadable_on_its_badge() -> None:
    assert contrast("#d97706", _tint_of("#d97706")) < 3


@pytest.mark.parametrize(
    ("action", "done", "extra", "said"),
    [
        ("stage", 12, {"target": "Qualified"}, "12 leads moved to Qualified"),
        ("assign", 1, {"target": "Ana"}, "1 lead assigned to Ana"),
        ("assign", 3, {}, "3 leads unassigned"),
        ("tag", 1200, {"tags": ["vip", "spring"]}, "vip, spring added to 1,200 leads"),
        ("untag", 2, {"tags": ["vip"]}, "vip removed from 2 leads"),
        ("delete", 2, {}, "2 leads deleted"),
    ],
)
def test_a_bulk_action_says_what_it_did(
    action: str, done: int, extra: dict[str, Any], said: str
) -> None:
    assert bulk_result(action, done, **extra) == said


# -- the table's columns ---------------------------------------------------------------

ROOF = FieldDefinition("roof_type", "Roof type", "text")
COLUMNS = available_columns([ROOF])


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        # Never chosen: the table as it was, the stage in its place.
        (None, ["product", "source", "tags", "stage", "priority", "value", "assignee", "created"]),
        # Chosen: in the table's order whatever the stored order; the stage always.
        (["cf.roof_type", "phone", "score"], ["stage", "score", "phone", "cf.roof_type"]),
        ([], ["stage"]),
        # A custom field deleted since (or a column no longer offered) is left out.
        (["cf.gone", "tags"], ["tags", "stage"]),
    ],
)
def test_the_columns_shown(stored: list[str] | None, shown: list[str]) -> None:
    assert [c.key for c in shown_columns(stored, COLUMNS)] == shown


@pytest.mark.parametrize(
    ("given", "chosen", "unknown"),
    [
        (["phone", "tags", "phone"], ["tags", "phone"], []),
        (["cf.roof_type", "next_task"], ["next_task", "cf.roof_type"], []),
        (["nope", "score"], ["score"], ["nope"]),
        (["stage"], [], ["stage"]),  # always shown: no choice
        (["cf.other"], [], ["cf.other"]),
        ([], [], []),
    ],
)
def test_a_column_choice_as_read(given: list[str], chosen: list[str], unknown: list[str]) -> None:
    assert read_column_choice(given, COLUMNS) == (chosen, unknown)


def test_the_default_columns_are_columns() -> None:
    assert set(DEFAULT_COLUMNS) <= {c.key for c in COLUMNS}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        ("", "—"),
        ([], "—"),
        (True, "Yes"),
        (False, "No"),
        (["a", 2], "a, 2"),
        (0, "0"),
        (12.5, "12.5"),
        ("shingle", "shingle"),
    ],
)
def test_a_custom_fields_value_in_a_cell(value: Any, shown: str) -> None:
    assert shown_value(value) == shown
