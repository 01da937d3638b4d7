"""Update an existing lead or open a new one: seed 000's decision matrix (DESIGN §2.4-2.5)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from leadpipe.activities import rules as activity
from leadpipe.activities.rules import ActivityDraft
from leadpipe.pipeline.rules import LOST, WON, StageInfo, stage_for_status, status_keywords


class LeadAction(StrEnum):
    CREATE = "created"
    UPDATE = "updated"
    NONE = "none"


class Rule(StrEnum):
    """Which row of the matrix fired; stored with the decision so users can see why."""

    NO_LEAD_DATA = "no_lead_data"
    NO_LEAD_TO_UPDATE = "no_lead_to_update"
    NO_MATCHING_LEAD = "no_matching_lead"
    NO_STATUS_KEYWORD = "no_status_keyword"
    ALREADY_CONVERTED = "already_converted"
    OUTSIDE_WINDOW = "outside_window"
    STATUS_PROGRESSION = "status_progression"
    BY_HAND = "by_hand"  # a person opened it (the API, the dashboard): no matrix


REASONS = {
    Rule.NO_LEAD_DATA: "payload has no lead status, product or notes",
    Rule.NO_LEAD_TO_UPDATE: "status names no product, and the contact has no active lead it "
    "could update",
    Rule.NO_MATCHING_LEAD: "contact has no active lead for this product",
    Rule.NO_STATUS_KEYWORD: "status has no update keyword",
    Rule.ALREADY_CONVERTED: "matching lead is already converted",
    Rule.OUTSIDE_WINDOW: "matching lead is older than the lead window",
    Rule.STATUS_PROGRESSION: "status keyword on a recent, unconverted lead of the same product",
    Rule.BY_HAND: "created by hand",
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
    product_named: bool = True,
) -> Decision:
    """UPDATE the newest active same-product lead only on a status keyword, inside the window,
    when it is not converted; everything else CREATEs a new lead.

    A payload that names no product is compared with the contact's newest active lead of
    any product (DESIGN §2.13); when that cannot be updated and its status would open the
    lead won or lost, nothing is opened: a status report is not a sale or a loss of its
    own."""
    decision = _matrix(existing, status=status, now=now, window_days=window_days)
    if (
        not product_named
        and decision.action is LeadAction.CREATE
        and stage_for_status(status) in (WON, LOST)
    ):
        return Decision(LeadAction.NONE, Rule.NO_LEAD_TO_UPDATE)
    return decision


def _matrix(
    existing: LeadSnapshot | None, *, status: str | None, now: datetime, window_days: int
) -> Decision:
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
) -> dict[str, Any]:
    """Columns that follow from entering a stage: won converts, lost and inactive close the
    lead, and leaving inactive reopens it."""
    effects: dict[str, Any] = {"stage": stage, "probability": probability}
    if previous == "inactive" and stage not in ("lost", "inactive"):
        effects["is_active"] = True
    if stage == "won":
        effects.update(is_converted=True, converted_at=now, is_active=True)
    elif stage == "lost":
        effects.update(is_active=False, lost_at=now)
    elif stage == "inactive":
        effects.update(is_active=False)
    return effects


# -- the lead lifecycle: open, move, win, lose ------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """Who changes a lead: an API key, a webhook, the system. Recorded on the stage history
    and on every timeline entry the change writes."""

    id: str
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def api_key(cls, key_id: str) -> Actor:
        return cls(
            f"api_key:{key_id}",
            "API",
            {"source": "api", "actor": {"id": f"api_key:{key_id}", "name": "API"}},
        )

    @classmethod
    def user(cls, user_id: Any, name: str) -> Actor:
        """A person on the dashboard."""
        return cls(
            f"user:{user_id}",
            name,
            {"source": "dashboard", "actor": {"id": f"user:{user_id}", "name": name}},
        )

    @property
    def person(self) -> str | None:
        """The person's name when a person acts (the dashboard); timelines name them."""
        return self.name if self.id.startswith("user:") else None


SYSTEM = Actor("system", "Pipeline", {"source": "system"})


@dataclass(frozen=True, slots=True)
class Transition:
    """What opening or moving a lead writes, decided before anything is: the lead's
    columns, its stage history row and its timeline entries. Every entrance (webhook, API,
    pipeline, and all that comes later) makes its changes through these plans and
    ``LeadService.open`` / ``move``, so that a move leaves the same trail wherever it is
    made."""

    values: dict[str, Any]
    history: dict[str, Any]
    drafts: tuple[ActivityDraft, ...]


def plan_open(
    stage: StageInfo, *, actor: Actor, reason: str, source: str, now: datetime
) -> Transition:
    """A new lead entering ``stage``; ``source`` names where it came from on its timeline."""
    drafts = [activity.lead_created(source, person=actor.person)]
    if stage.slug == WON:
        drafts.append(activity.lead_converted(stage.name))
    return Transition(
        values=stage_effects(stage.slug, probability=stage.probability, now=now),
        history=_history(None, stage.slug, actor, reason),
        drafts=tuple(drafts),
    )


def plan_move(
    current: str,
    target: StageInfo,
    *,
    actor: Actor,
    reason: str,
    source: str,
    now: datetime,
    lost_reason: str | None = None,
) -> Transition:
    """A lead moving from ``current`` to ``target``: winning converts it, losing closes it
    and keeps the reason given."""
    values = stage_effects(target.slug, probability=target.probability, now=now, previous=current)
    values["previous_stage"] = current
    if target.slug == LOST and lost_reason is not None:
        values["lost_reason"] = lost_reason
    drafts = [
        activity.status_updated(
            current, target.slug, source, lost_reason=lost_reason, person=actor.person
        )
    ]
    if target.slug == WON:
        drafts.append(activity.lead_converted(target.name))
    return Transition(
        values=values,
        history=_history(current, target.slug, actor, reason),
        drafts=tuple(drafts),
    )


def _history(old: str | None, new: str, actor: Actor, reason: str) -> dict[str, Any]:
    """A ``lead_status_history`` row but for its id, lead and time."""
    return {
        "old_stage": old,
        "new_stage": new,
        "changed_by": actor.id,
        "changed_by_name": actor.name,
        "reason": reason,
        "metadata": actor.metadata,
    }


# -- what a person's edit changed, in plain words for the timeline ----------------------

# The fields a person edits by hand, as the timeline names them.
EDITED_FIELDS = {
    "estimated_value": "value",
    "priority": "priority",
    "temperature": "temperature",
    "product_interest": "product",
    "lead_source": "source",
    "sub_source": "sub-source",
    "tags": "tags",
    "expected_close_date": "expected close date",
    "next_follow_up_at": "next follow-up",
    "qualification_status": "qualification",
    "lead_score": "score",
    "timeline": "timeline",
    "budget_range": "budget",
    "service_type": "service type",
    "initial_inquiry": "inquiry",
    "is_active": "open",
    "conversion_value": "conversion value",
}


def shown(value: Any) -> str:
    """A value as the timeline writes it: nothing as "nothing", lists joined."""
    if value is None or value == "" or value == []:
        return "nothing"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, int | float | Decimal) and isinstance(after, int | float | Decimal):
        return Decimal(str(before)) == Decimal(str(after))
    return shown(before) == shown(after)


def edited(before: dict[str, Any], values: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(field, before, after)`` for each field ``values`` changes on the lead as it was
    (``before``), custom fields one by one; unchanged ones are left out."""
    changes = [
        (label, shown(before.get(key)), shown(values[key]))
        for key, label in EDITED_FIELDS.items()
        if key in values and not _same(before.get(key), values[key])
    ]
    old_custom = before.get("custom_fields") or {}
    for key, value in (values.get("custom_fields") or {}).items():
        if not _same(old_custom.get(key), value):
            changes.append((key, shown(old_custom.get(key)), shown(value)))
    return changes


def lost_reason_given(reason: str | None, note: str | None) -> str | None:
    """The reason a person gives for losing a lead: one of the workspace's, and what they
    add in their own words; None when they give neither."""
    return ": ".join(part for part in (reason, note) if part) or None


# A contact's fields, as the timeline names them.
CONTACT_FIELDS = {
    "firstname": "first name",
    "lastname": "last name",
    "phone_number": "phone",
    "email": "email",
    "address": "address",
    "address2": "address line 2",
    "city": "city",
    "state": "state",
    "zip_code": "ZIP",
}


def contact_changes(before: dict[str, Any], values: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(field, before, after)`` for each of the contact's fields ``values`` changes."""
    return [
        (label, shown(before.get(key)), shown(values[key]))
        for key, label in CONTACT_FIELDS.items()
        if key in values and not _same(before.get(key), values[key])
    ]
