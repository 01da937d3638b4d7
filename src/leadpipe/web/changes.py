"""How the dashboard changes leads: as the signed-in user, through the lead service, and
announced to the workspace's watchers once committed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.accounts.sessions import SignedIn
from leadpipe.contact_api.schemas import ContactUpdate
from leadpipe.errors import ValidationFailed, field_error
from leadpipe.leads.rules import Actor, lost_reason_given
from leadpipe.leads.schemas import LeadUpdate
from leadpipe.leads.service import lead
from leadpipe.pipeline.rules import LOST
from leadpipe.realtime import events
from leadpipe.realtime.hub import publish
from leadpipe.storage.engine import Database
from leadpipe.tasks.rules import local_due
from leadpipe.tasks.schemas import TaskCreate
from leadpipe.web.forms import body_of
from leadpipe.web.rules import zone


def actor_of(who: SignedIn) -> Actor:
    return Actor.user(who.user_id, who.display_name)


def stage_change(values: dict[str, str]) -> LeadUpdate:
    """A stage change from a dashboard form (the panel, a card dropped on the board, bulk):
    moving a lead to Lost asks why (the workspace's reason, and or words of one's own).
    The API may still lose a lead without one."""
    stage = values.get("stage", "")
    reason = lost_reason_given(values.get("lost_reason"), values.get("lost_note"))
    if stage == LOST and reason is None:
        raise ValidationFailed(
            "Say why the lead was lost",
            [field_error("lost_reason", "choose a reason or write one")],
        )
    given = {"stage": stage} if reason is None else {"stage": stage, "lost_reason": reason}
    return body_of(LeadUpdate, given, "stage change")


# The panel's details form: blank clears these; the others are kept when left blank.
_CLEARABLE = ("estimated_value", "product_interest", "lead_source", "expected_close_date")
_KEPT_WHEN_BLANK = ("priority", "temperature")
CUSTOM_PREFIX = "cf."


def edited_lead_fields(form: Mapping[str, Any]) -> dict[str, Any]:
    """The details form as a ``LeadUpdate``'s fields: a cleared field clears the value,
    tags are comma-separated, custom fields come as ``cf.<key>`` (blank: left as is)."""
    text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    fields: dict[str, Any] = {k: text[k] or None for k in _CLEARABLE if k in text}
    fields.update({k: text[k] for k in _KEPT_WHEN_BLANK if text.get(k)})
    if "tags" in text:
        fields["tags"] = [t for t in text["tags"].split(",") if t.strip()]
    custom = {
        k.removeprefix(CUSTOM_PREFIX): v
        for k, v in text.items()
        if k.startswith(CUSTOM_PREFIX) and v
    }
    if custom:
        fields["custom_fields"] = custom
    return fields


def refuse_empty_activity(values: dict[str, str]) -> None:
    """An activity says what happened: a title, notes, an outcome, a duration or a next
    step. An empty form is refused rather than logged as a call that never was."""
    said = ("title", "description", "outcome", "duration_minutes", "next_step")
    if not any(values.get(k) for k in said):
        raise ValidationFailed(
            "Nothing to add",
            [field_error("description", "write what happened, or give it a title")],
        )


def next_step_task(
    conn: Connection, who: SignedIn, step: str | None, due: str | None
) -> TaskCreate | None:
    """An activity's next step with a due time becomes a task (for the lead's assignee);
    a due time needs a step to be done."""
    if not due:
        return None
    if not step:
        raise ValidationFailed(
            "Invalid next step", [field_error("next_step", "say what is to be done by then")]
        )
    assert who.workspace_id is not None
    when = local_due(due, workspace_zone(conn, who.workspace_id))
    if when is None:
        raise ValidationFailed(
            "Invalid next step", [field_error("next_step_due", "a date and time")]
        )
    return body_of(TaskCreate, {"title": step[:255], "due_at": when}, "next step")


def workspace_zone(conn: Connection, workspace_id: str) -> ZoneInfo:
    found = WorkspaceRepository(conn).get(workspace_id)
    return zone((found.settings or {}).get("time_zone"))


def update_lead(
    conn: Connection, who: SignedIn, lead_id: uuid.UUID, body: LeadUpdate
) -> list[events.Event]:
    """Change a lead of the user's workspace as the user; what to announce."""
    assert who.workspace_id is not None
    updated = lead.update(conn, who.workspace_id, lead_id, body, actor_of(who))
    return [events.lead_as_changed(updated)]


async def write_and_announce(
    request: Request, db: Database, change: Callable[[Connection], Sequence[events.Event]]
) -> None:
    """``change(conn)`` in a write transaction; what it says changed is published only
    after the commit (a rollback announces nothing)."""
    publish(request.app, await db.write(change))


# Blank clears these; a blank phone or email keeps it (they identify the person).
_CONTACT_CLEARABLE = ("firstname", "lastname", "address", "city", "state", "zip_code")
_CONTACT_IDENTITY = ("phone_number", "email")


def contact_change(form: Mapping[str, Any]) -> ContactUpdate:
    """A contact form (its page, the lead's panel) as the Contact API's change."""
    text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    fields: dict[str, Any] = {k: text[k] or None for k in _CONTACT_CLEARABLE if k in text}
    fields.update({k: text[k] for k in _CONTACT_IDENTITY if text.get(k)})
    return body_of(ContactUpdate, fields, "contact")
