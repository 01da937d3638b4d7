"""Status words to stages (DESIGN §2.5) and the default pipeline (§2.7)."""

from __future__ import annotations

import pytest

from leadpipe.pipeline.rules import (
    DEFAULT_STAGES,
    slugify,
    stage_for_status,
    status_keywords,
    transition_error,
)


@pytest.mark.parametrize(
    ("status", "stage"),
    [
        ("Qualified", "qualified"),
        ("proposal", "proposal"),
        ("Proposal Sent", "proposal"),
        ("proposal_sent", "proposal"),
        ("Negotiation", "negotiation"),
        ("won", "won"),
        ("Converted", "won"),
        ("Closed Won", "won"),
        ("closed_won", "won"),
        ("Closed", "won"),
        ("lost", "lost"),
        ("Closed Lost", "lost"),
        ("closed-lost", "lost"),
        ("New", None),
        ("contacted", None),
        ("unqualified", None),
        ("Not Qualified", None),
        ("", None),
        (None, None),
    ],
)
def test_status_maps_to_stage(status: str | None, stage: str | None) -> None:
    assert stage_for_status(status) == stage


@pytest.mark.parametrize(
    ("status", "keywords"),
    [
        ("Closed Won", {"closed", "won"}),
        ("converted", {"converted"}),
        ("wont call back", set()),
        ("disqualified", set()),
    ],
)
def test_keywords_are_whole_words(status: str, keywords: set[str]) -> None:
    assert status_keywords(status) == keywords


def test_default_pipeline() -> None:
    assert [(s.slug, s.probability) for s in DEFAULT_STAGES] == [
        ("new", 10),
        ("qualified", 25),
        ("proposal", 60),
        ("negotiation", 80),
        ("won", 100),
        ("lost", 0),
        ("inactive", 0),
    ]
    assert [s.slug for s in DEFAULT_STAGES if s.is_default] == ["new"]


@pytest.mark.parametrize(
    ("name", "slug"), [("Site Visit", "site_visit"), ("Quote & Follow-up", "quote_and_follow_up")]
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


ORDER = {s.slug: i for i, s in enumerate(DEFAULT_STAGES)}


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("new", "qualified", True),
        ("qualified", "proposal", True),
        ("proposal", "won", True),
        ("new", "won", True),  # forward skips are fine
        ("new", "lost", True),
        ("won", "lost", True),
        ("proposal", "inactive", True),
        ("inactive", "new", True),
        ("inactive", "qualified", True),
        ("inactive", "proposal", False),
        ("proposal", "qualified", True),
        ("negotiation", "qualified", True),
        ("negotiation", "proposal", True),
        ("qualified", "new", False),
        ("won", "new", False),
        ("won", "proposal", False),
        ("lost", "qualified", False),
        ("lost", "inactive", True),
        ("new", "new", True),
    ],
)
def test_manual_stage_transitions(current: str, target: str, allowed: bool) -> None:
    problem = transition_error(current, target, ORDER)
    assert (problem is None) is allowed, problem
