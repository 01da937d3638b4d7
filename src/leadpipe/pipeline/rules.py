"""Pipeline stages and what provider status words mean for them (DESIGN §2.5, §2.7)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class StageTemplate:
    name: str
    slug: str
    color: str
    probability: int
    is_default: bool = False


# Seed 000's default pipeline, with DESIGN §2.7's probabilities.
DEFAULT_STAGES: tuple[StageTemplate, ...] = (
    StageTemplate("New", "new", "#3182CE", 10, is_default=True),
    StageTemplate("Qualified", "qualified", "#805AD5", 25),
    StageTemplate("Proposal", "proposal", "#D69E2E", 60),
    StageTemplate("Negotiation", "negotiation", "#DD6B20", 80),
    StageTemplate("Won", "won", "#38A169", 100),
    StageTemplate("Lost", "lost", "#E53E3E", 0),
    StageTemplate("Inactive", "inactive", "#718096", 0),
)

WON = "won"
LOST = "lost"


@dataclass(frozen=True, slots=True)
class StageInfo:
    """A stage as leads see it: where they can be, and what entering it means."""

    slug: str
    name: str
    probability: int
    is_default: bool


def default_stage(stages: Iterable[StageInfo]) -> StageInfo:
    """Where a lead starts: the default stage, else the first, else seed 000's ``new``."""
    ordered = list(stages)
    for stage in ordered:
        if stage.is_default:
            return stage
    return ordered[0] if ordered else StageInfo("new", "New", 10, True)


# Seed 000's status keywords: a payload carrying one of them may update an existing lead.
STATUS_KEYWORDS = ("converted", "won", "lost", "closed", "qualified", "proposal", "negotiation")

_WORD = re.compile(r"[a-z]+")
_NEGATIONS = {"not", "no", "never"}


def _words(status: str) -> list[str]:
    return _WORD.findall(status.lower())


def status_keywords(status: str | None) -> set[str]:
    """The status keywords a provider's status names, as whole words.

    ``"Closed Won"`` names closed and won; ``"unqualified"`` and ``"not qualified"`` name
    nothing: a negated keyword must not move a lead forward.
    """
    if not status:
        return set()
    words = _words(status)
    found: set[str] = set()
    for i, word in enumerate(words):
        if word in STATUS_KEYWORDS and not (i > 0 and words[i - 1] in _NEGATIONS):
            found.add(word)
    return found


def stage_for_status(status: str | None) -> str | None:
    """The stage slug a provider's status maps to, or None when it names no stage.

    lost / "closed lost" → lost; won, converted, "closed won" and a bare "closed" → won;
    negotiation, proposal, qualified → their stages (the most advanced one named wins).
    """
    keywords = status_keywords(status)
    if "lost" in keywords:
        return LOST
    if keywords & {"won", "converted", "closed"}:
        return WON
    for slug in ("negotiation", "proposal", "qualified"):
        if slug in keywords:
            return slug
    return None


def slugify(name: str) -> str:
    return "_".join(_WORD.findall(name.lower().replace("&", " and "))) or "stage"


INACTIVE = "inactive"
REOPEN_FROM_INACTIVE = frozenset({"new", "qualified"})
BACK_TO_QUALIFIED = frozenset({"proposal", "negotiation"})


def transition_error(current: str, target: str, order: dict[str, int]) -> str | None:
    """Why a lead may not move from ``current`` to ``target`` by hand, or None if it may.

    The sibling rules: any stage may go to lost or inactive; lost and won are closed
    (lost → inactive only); inactive reopens to new or qualified; otherwise leads move
    forward in pipeline order (skipping is fine) or back from proposal/negotiation to
    qualified and from negotiation to proposal. ``order`` maps stage slug → position.
    """
    if target == current or target in (LOST, INACTIVE):
        return None
    if current == LOST:
        return "a lost lead is closed; move it to inactive first"
    if current == WON:
        return "a won lead is closed; open a new lead for new business"
    if current == INACTIVE:
        return (
            None
            if target in REOPEN_FROM_INACTIVE
            else "an inactive lead reopens as new or qualified"
        )
    if order.get(target, 0) > order.get(current, 0):
        return None
    if target == "qualified" and current in BACK_TO_QUALIFIED:
        return None
    if target == "proposal" and current == "negotiation":
        return None
    return f"a lead cannot move back from {current} to {target}"


DATE_RANGES = ("last_7_days", "last_30_days", "this_month", "this_quarter")


def date_range(name: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a named range ending now (UTC calendar for months and quarters)."""
    if name == "last_7_days":
        return now - timedelta(days=7), now
    if name == "last_30_days":
        return now - timedelta(days=30), now
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if name == "this_month":
        return month_start, now
    if name == "this_quarter":
        return month_start.replace(month=(now.month - 1) // 3 * 3 + 1), now
    raise ValueError(f"unknown date range '{name}'; use one of {', '.join(DATE_RANGES)}")


def weighted(value: Decimal, probability: int) -> Decimal:
    """Expected revenue of ``value`` at a stage's win probability (percent)."""
    return (value * probability / 100).quantize(Decimal("0.01"))


# Leads in these stages are out of the pipeline: won, lost, or parked.
CLOSED_STAGES = frozenset({WON, LOST, INACTIVE})


def pipeline_totals(stages: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The overview's sums from its stages (each with slug, count, value and weighted
    value): everything, the open pipeline (weighted by each stage's probability), what was
    won and what was lost, each apart, so that won revenue is not counted as pipeline."""
    stages = list(stages)
    open_stages = [s for s in stages if s["stage_slug"] not in CLOSED_STAGES]

    def total(of: list[dict[str, Any]], key: str) -> Any:
        return sum((s[key] for s in of), Decimal(0) if key != "count" else 0)

    won = [s for s in stages if s["stage_slug"] == WON]
    lost = [s for s in stages if s["stage_slug"] == LOST]
    return {
        "total_leads": total(stages, "count"),
        "total_value": total(stages, "value"),
        "open_leads": total(open_stages, "count"),
        "open_value": total(open_stages, "value"),
        "weighted_value": total(open_stages, "weighted_value"),
        "won_leads": total(won, "count"),
        "won_value": total(won, "value"),
        "lost_leads": total(lost, "count"),
        "lost_value": total(lost, "value"),
    }


def stage_typed(stages: Iterable[tuple[str, str]], typed: str) -> str | None:
    """The slug of the stage a person means by ``typed`` (``Won``, ``won``, ``Site
    Visit``, ``site_visit``) among (slug, name) pairs, or None when none is meant."""
    wanted = typed.strip().casefold()
    for slug, name in stages:
        if wanted in (slug.casefold(), name.casefold(), slugify(name)):
            return slug
    return None
