"""Seed 000's decision matrix and the sibling examples, row by row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from leadpipe.leads.rules import (
    LeadAction,
    LeadSnapshot,
    Rule,
    decide,
    has_lead_data,
    product_key,
    stage_effects,
)

NOW = datetime(2025, 10, 1, 12, tzinfo=UTC)


def lead(age_days: float, *, converted: bool = False) -> LeadSnapshot:
    return LeadSnapshot(
        uuid.uuid4(), "won" if converted else "new", converted, NOW - timedelta(days=age_days)
    )


@pytest.mark.parametrize(
    ("scenario", "existing", "status", "action", "rule"),
    [
        ("status progression", lead(3), "Qualified", LeadAction.UPDATE, Rule.STATUS_PROGRESSION),
        ("status progression to won", lead(3), "Won", LeadAction.UPDATE, Rule.STATUS_PROGRESSION),
        (
            "different product (no same-product lead)",
            None,
            "Qualified",
            LeadAction.CREATE,
            Rule.NO_MATCHING_LEAD,
        ),
        ("long gap", lead(31), "Qualified", LeadAction.CREATE, Rule.OUTSIDE_WINDOW),
        ("long gap, no keyword", lead(45), "New", LeadAction.CREATE, Rule.NO_STATUS_KEYWORD),
        (
            "already won",
            lead(3, converted=True),
            "Qualified",
            LeadAction.CREATE,
            Rule.ALREADY_CONVERTED,
        ),
        ("no status keyword", lead(3), "New", LeadAction.CREATE, Rule.NO_STATUS_KEYWORD),
        ("no status at all", lead(3), None, LeadAction.CREATE, Rule.NO_STATUS_KEYWORD),
        # Sibling examples ([US] decision examples)
        (
            "keyword update the same day",
            lead(0),
            "qualified",
            LeadAction.UPDATE,
            Rule.STATUS_PROGRESSION,
        ),
        (
            "keyword update 2 weeks later",
            lead(14),
            "proposal",
            LeadAction.UPDATE,
            Rule.STATUS_PROGRESSION,
        ),
        ("31 days later", lead(31), "won", LeadAction.CREATE, Rule.OUTSIDE_WINDOW),
        (
            "won lead with a new inquiry",
            lead(2, converted=True),
            "won",
            LeadAction.CREATE,
            Rule.ALREADY_CONVERTED,
        ),
        ("29.9 days is inside", lead(29.9), "lost", LeadAction.UPDATE, Rule.STATUS_PROGRESSION),
        ("exactly 30 days is outside", lead(30), "lost", LeadAction.CREATE, Rule.OUTSIDE_WINDOW),
    ],
)
def test_decision_matrix(
    scenario: str, existing: LeadSnapshot | None, status: str | None, action: LeadAction, rule: Rule
) -> None:
    decision = decide(existing, status=status, now=NOW, window_days=30)
    assert (decision.action, decision.rule) == (action, rule), scenario
    assert decision.lead_id == (existing.id if action is LeadAction.UPDATE else None)
    assert decision.reason


def test_window_is_per_workspace() -> None:
    assert decide(lead(10), status="won", now=NOW, window_days=7).rule is Rule.OUTSIDE_WINDOW


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Solar Panels", "solar panels"),
        ("Solar Panels", " SolarPanels "),
        ("HVAC  System", "hvac system"),
    ],
)
def test_products_match_ignoring_case_and_spaces(a: str, b: str) -> None:
    assert product_key(a) == product_key(b)


def test_kitchen_is_not_solar() -> None:
    assert product_key("Kitchen") != product_key("Solar")


@pytest.mark.parametrize(
    ("status", "product", "notes", "expected"),
    [
        ("New", None, None, True),
        (None, "Solar", None, True),
        (None, None, "call me", True),
        (None, None, None, False),
        ("", "", "", False),
    ],
)
def test_lead_data_means_status_product_or_notes(
    status: str | None, product: str | None, notes: str | None, expected: bool
) -> None:
    assert has_lead_data(status=status, product=product, notes=notes) is expected


def test_won_converts_and_lost_closes() -> None:
    assert stage_effects("won", probability=100, now=NOW) == {
        "stage": "won",
        "probability": 100,
        "is_converted": True,
        "converted_at": NOW,
        "is_active": True,
    }
    assert stage_effects("lost", probability=0, now=NOW) == {
        "stage": "lost",
        "probability": 0,
        "is_active": False,
        "lost_at": NOW,
    }
    assert stage_effects("qualified", probability=25, now=NOW) == {
        "stage": "qualified",
        "probability": 25,
    }


def test_inactive_closes_and_leaving_it_reopens() -> None:
    assert stage_effects("inactive", probability=0, now=NOW)["is_active"] is False
    assert stage_effects("new", probability=10, now=NOW, previous="inactive")["is_active"] is True
    assert "is_active" not in stage_effects(
        "proposal", probability=60, now=NOW, previous="qualified"
    )
