"""Update an existing lead or open a new one: seed 000's decision matrix (DESIGN §2.4-2.5)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from leadpipe.pipeline.rules import status_keywords


class LeadAction(StrEnum):
    CREATE = "created"
    UPDATE = "updated"
    NONE = "none"


class Rule(StrEnum):
    """Which row of the matrix fired; stored with the decision so users can see why."""

    NO_LEAD_DATA = "no_lead_data"
    NO_MATCHING_LEAD = "no_matching_lead"
    NO_STATUS_KEYWORD = "no_status_keyword"
    ALREADY_CONVERTED = "already_converted"
    OUTSIDE_WINDOW = "outside_window"
    STATUS_PROGRESSION = "status_progression"


REASONS = {
    Rule.NO_LEAD_DATA: "payload has no lead status, product or notes",
    Rule.NO_MATCHING_LEAD: "contact has no active lead for this product",
    Rule.NO_STATUS_KEYWORD: "status has no update keyword",
    Rule.ALREADY_CONVERTED: "matching lead is already converted",
    Rule.OUTSIDE_WINDOW: "matching lead is older than the lead window",
    Rule.STATUS_PROGRESSION: "status keyword on a recent, unconverted lead of the same product",
}


@dataclass(frozen=True, slots=True)
class LeadSnapshot:
    id: uuid.UUID
    stage: str
    is_converted: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    action: LeadAction
    rule: Rule
    lead_id: uuid.UUID | None = None

    @property
    def reason(self) -> str:
        return REASONS[self.rule]


_SPACE = re.compile(r"\s+")


def product_key(product: str | None) -> str:
    """Products match case- and space-insensitively: "Solar Panels" is "solarpanels"."""
    return _SPACE.sub("", product or "").lower()


def has_lead_data(*, status: str | None, product: str | None, notes: str | None) -> bool:
    """Seed 001 step 4B: a payload opens or updates a lead with a status, product or notes."""
    return bool(status or product or notes)


def decide(
    existing: LeadSnapshot | None,
    *,
    status: str | None,
    now: datetime,
    window_days: int,
) -> Decision:
    """UPDATE the newest active same-product lead only on a status keyword, inside the window,
    when it is not converted; everything else CREATEs a new lead."""
    if existing is None:
        return Decision(LeadAction.CREATE, Rule.NO_MATCHING_LEAD)
    if not status_keywords(status):
        return Decision(LeadAction.CREATE, Rule.NO_STATUS_KEYWORD)
    if existing.is_converted:
        return Decision(LeadAction.CREATE, Rule.ALREADY_CONVERTED)
    if now - existing.created_at >= timedelta(days=window_days):
        return Decision(LeadAction.CREATE, Rule.OUTSIDE_WINDOW)
    return Decision(LeadAction.UPDATE, Rule.STATUS_PROGRESSION, existing.id)


def stage_effects(
    stage: str, *, probability: int, now: datetime, previous: str | None = None
) -> dict[str, object]:
    """Columns that follow from entering a stage: won converts, lost and inactive close the
    lead, and leaving inactive reopens it."""
    effects: dict[str, object] = {"stage": stage, "probability": probability}
    if previous == "inactive" and stage not in ("lost", "inactive"):
        effects["is_active"] = True
    if stage == "won":
        effects.update(is_converted=True, converted_at=now, is_active=True)
    elif stage == "lost":
        effects.update(is_active=False, lost_at=now)
    elif stage == "inactive":
        effects.update(is_active=False)
    return effects
