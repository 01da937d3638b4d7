"""Tasks on the dashboard: a lead's tasks in its panel, "My tasks" (overdue, today,
upcoming), completing and reopening them, and what the page's reminder asks for."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.sessions import SignedIn
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.kit.clock import utcnow
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.service import lead
from leadpipe.realtime import events
from leadpipe.tasks.rules import bucket, grouped, local_due
from leadpipe.tasks.schemas import TaskCreate, TaskUpdate
from leadpipe.tasks.service import task
from leadpipe.web.auth import Agent, Viewer
from leadpipe.web.changes import actor_of, workspace_zone, write_and_announce
from leadpipe.web.forms import body_of, form_values
from leadpipe.web.pages import lead_panel
from leadpipe.web.render import page
from leadpipe.web.rules import zone
from leadpipe.web.tables import load_workspace, memberships_of

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

# The page's reminder looks this far ahead, and asks again before it runs out.
REMINDER_HORIZON = timedelta(hours=1)
DONE_SHOWN = 50


def _mine(conn: Connection, who: SignedIn, show_done: bool) -> dict[str, Any]:
    assert who.workspace_id is not None
    workspace = load_workspace(conn, who.workspace_id)
    now, tz = utcnow(), zone(workspace.time_zone)
    mine = task.listed(conn, workspace.id, assignee_id=who.user_id, done=show_done)
    if show_done:
        mine = sorted(mine, key=lambda t: t["done_at"], reverse=True)[:DONE_SHOWN]
    leads = {
        one["id"]: one
        for one in LeadQueries(conn).by_ids(workspace.id, list({t["lead_id"] for t in mine}))
    }
    for one in mine:
        one["lead"] = leads.get(one["lead_id"])
        one["bucket"] = bucket(one["due_at"], one["done_at"], now, tz)
    return {
        "workspace": workspace,
        "memberships": memberships_of(conn, who),
        "groups": {} if show_done else grouped(mine, now, tz),
        "done": mine if show_done else [],
        "show_done": show_done,
        "task_target": "#my-tasks",
    }


@router.get("/app/tasks", response_class=HTMLResponse)
async def my_tasks(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """The signed-in user's open tasks by when they are due (or the done ones)."""
    show_done = request.query_params.get("show") == "done"
    data = await db.read(lambda conn: _mine(conn, who, show_done))
    template = "_my_tasks.html" if request.headers.get("hx-target") == "my-tasks" else "tasks.html"
    return page(request, template, data)


@router.get("/app/tasks/due")
async def due_soon(who: Viewer, db: DatabaseDep) -> Response:
    """For the top bar's badge and the page's reminder: how many of the user's tasks are
    due now, and those falling due within the hour (the page sets a timer for each)."""

    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        now = utcnow()
        mine = task.listed(conn, who.workspace_id, assignee_id=who.user_id, done=False)
        soon = [t for t in mine if now < t["due_at"] <= now + REMINDER_HORIZON]
        return {
            "due": sum(1 for t in mine if t["due_at"] <= now),
            "soon": [
                {
                    "id": str(t["id"]),
                    "title": t["title"],
                    "lead_id": str(t["lead_id"]),
                    "due_at": t["due_at"].isoformat(),
                    "in_seconds": (t["due_at"] - now).total_seconds(),
                }
                for t in soon
            ],
            "ask_again_in_seconds": REMINDER_HORIZON.total_seconds() / 2,
        }

    return JSONResponse(await db.read(read), headers={"Cache-Control": "no-store"})


@router.post("/app/leads/{lead_id}/tasks", response_class=HTMLResponse)
async def add_task(lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep) -> Response:
    values = await form_values(request)

    def change(conn: Connection) -> list[events.Event]:
        assert who.workspace_id is not None
        body = _task_body(conn, who, values)
        task.create(conn, who.workspace_id, lead_id, body, actor=actor_of(who).metadata)
        return [events.lead_as_changed(lead.get(conn, who.workspace_id, lead_id))]

    await write_and_announce(request, db, change)
    return await lead_panel(request, who, db, lead_id)


def _task_body(conn: Connection, who: SignedIn, values: dict[str, str]) -> TaskCreate:
    """The panel's task form: the due time on the workspace's wall clock; the lead's
    assignee when nobody is chosen."""
    assert who.workspace_id is not None
    # ``task_title``: the panel's activity form has a ``title`` of its own.
    fields: dict[str, Any] = {"title": values.get("task_title", "")}
    raw_due = values.get("due_at", "")
    fields["due_at"] = local_due(raw_due, workspace_zone(conn, who.workspace_id)) or raw_due
    if values.get("assignee_id"):
        fields["assignee_id"] = values["assignee_id"]
    return body_of(TaskCreate, fields, "task")


@router.post("/app/tasks/{task_id}", response_class=HTMLResponse)
async def complete_or_reopen(
    task_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep
) -> Response:
    """``done=true`` completes the task, ``false`` reopens it; answered with the lead's
    panel, or "My tasks" when it was done there."""
    values = await form_values(request)
    body = body_of(TaskUpdate, {"done": values.get("done", "")}, "task")

    def change(conn: Connection) -> uuid.UUID:
        assert who.workspace_id is not None
        changed = task.update(conn, who.workspace_id, task_id, body, actor=actor_of(who).metadata)
        return uuid.UUID(str(changed["lead_id"]))

    lead_id = await db.write(change)
    if values.get("from") == "tasks":
        show_done = body.done is False  # reopened from the done list: stay there
        data = await db.read(lambda conn: _mine(conn, who, show_done))
        return page(request, "_my_tasks.html", data, headers={"HX-Trigger": "tasksChanged"})
    return await lead_panel(request, who, db, lead_id)
