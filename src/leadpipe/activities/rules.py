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


def lead_created(source: str, *, person: str | None = None) -> ActivityDraft:
    """``person``: who opened it by hand, named instead of a submission."""
    said = f"{person} created the lead" if person else f"Lead created from {source} submission"
    return ActivityDraft("lead_created", "🆕 New Lead Created", said)


def status_updated(
    previous: str | None,
    new: str,
    source: str,
    *,
    lost_reason: str | None = None,
    person: str | None = None,
) -> ActivityDraft:
    """``person``: who moved it by hand, named instead of a submission."""
    if person:
        description = f"{person} moved the lead from {previous or 'none'} to {new}"
    else:
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


def lead_assigned(person: str, assignee: str | None) -> ActivityDraft:
    """A person gave the lead to someone (``assignee``), or to nobody."""
    if assignee is None:
        return ActivityDraft("lead_assigned", "Unassigned", f"{person} unassigned the lead")
    return ActivityDraft(
        "lead_assigned", f"Assigned to {assignee}", f"{person} assigned the lead to {assignee}"
    )


def lead_edited(person: str, changes: list[tuple[str, str, str]]) -> ActivityDraft:
    """A person changed fields of the lead or its contact: ``(field, before, after)``
    each, in plain words, so the timeline says who changed what from what."""
    said = "; ".join(f"{name} from {before} to {after}" for name, before, after in changes)
    return ActivityDraft(
        "lead_updated",
        "Details edited",
        f"{person} changed {said}",
        metadata={"changes": [list(c) for c in changes]},
    )


def task_added(person: str, title: str, due: str, assignee: str | None) -> ActivityDraft:
    whom = f" for {assignee}" if assignee else ""
    return ActivityDraft(
        "task_created", f"Task: {title}", f"{person} added a task{whom}, due {due}"
    )


def task_done(person: str, title: str, *, done: bool) -> ActivityDraft:
    if done:
        return ActivityDraft("task_completed", f"Done: {title}", f"{person} completed the task")
    return ActivityDraft("task_reopened", f"Reopened: {title}", f"{person} reopened the task")
