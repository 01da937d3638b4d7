"""The timeline entries the system writes by itself (seed 001 step 7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ActivityDraft:
    activity_type: str
    title: str
    description: str | None = None
    outcome: str | None = None
    activity_data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def lead_created(source: str) -> ActivityDraft:
    return ActivityDraft(
        "lead_created", "🆕 New Lead Created", f"Lead created from {source} submission"
    )


def status_updated(
    previous: str | None, new: str, source: str, *, lost_reason: str | None = None
) -> ActivityDraft:
    description = f"Stage changed by {source} submission"
    metadata: dict[str, Any] = {"previous_stage": previous, "new_stage": new}
    if lost_reason is not None:
        description += f": {lost_reason}"
        metadata["lost_reason"] = lost_reason
    return ActivityDraft(
        "status_updated",
        f"Status: {previous or 'none'} → {new}",
        description,
        metadata=metadata,
    )


def lead_updated(source: str) -> ActivityDraft:
    return ActivityDraft("lead_updated", "Lead updated", f"Lead updated by {source} submission")


def appointment_scheduled(title: str, data: dict[str, Any]) -> ActivityDraft:
    return ActivityDraft("appointment_scheduled", title, outcome="scheduled", activity_data=data)


def lead_converted(stage_name: str) -> ActivityDraft:
    return ActivityDraft(
        "lead_converted", f"🎉 Lead Converted to {stage_name}", outcome="converted"
    )
