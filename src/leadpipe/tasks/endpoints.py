"""Task API v3: a lead's tasks, ``/api/v3/leads/{id}/tasks``, and every task of the
workspace, ``/api/v3/tasks``, with the scopes of the Lead API (read lists, write changes)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from leadpipe.accounts.auth import ReadAccess, WriteAccess
from leadpipe.deps import DatabaseDep
from leadpipe.kit.openapi import Envelope, not_found, public, public_all
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.tasks.schemas import TaskCreate, TaskOut, TaskUpdate
from leadpipe.tasks.service import task

router = APIRouter(prefix="/api/v3", tags=["tasks"])

Status = Literal["open", "done", "all"]
_DONE = {"open": False, "done": True, "all": None}


def _api_actor(key_id: str) -> dict[str, Any]:
    """As ``leads.rules.Actor.api_key`` writes it on timelines."""
    return {"source": "api", "actor": {"id": f"api_key:{key_id}", "name": "API"}}


@router.get(
    "/leads/{lead_id}/tasks", response_model=Envelope[list[TaskOut]], responses=not_found("lead")
)
async def lead_tasks(
    lead_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep, status: Status = "all"
) -> JSONResponse:
    """A lead's tasks, soonest due first."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        return task.listed(conn, principal.workspace_id, lead_id=lead_id, done=_DONE[status])

    return ok(public_all(TaskOut, await db.read(read)))


@router.post(
    "/leads/{lead_id}/tasks",
    status_code=201,
    response_model=Envelope[TaskOut],
    responses=not_found("lead"),
)
async def add_task(
    lead_id: uuid.UUID, body: TaskCreate, principal: WriteAccess, db: DatabaseDep
) -> JSONResponse:
    """Add a next step to a lead, due at a time, for a user (the lead's assignee when
    none is named)."""
    created = await db.write(
        lambda conn: task.create(
            conn, principal.workspace_id, lead_id, body, actor=_api_actor(principal.key_id)
        )
    )
    return ok(public(TaskOut, created), status_code=201)


@router.get("/tasks", response_model=Envelope[list[TaskOut]], responses=not_found("lead"))
async def list_tasks(
    principal: ReadAccess,
    db: DatabaseDep,
    assignee_id: uuid.UUID | None = None,
    lead_id: uuid.UUID | None = None,
    status: Annotated[Status, Query(description="open (default), done or all")] = "open",
) -> JSONResponse:
    """The workspace's tasks, soonest due first: a user's with `assignee_id`, a lead's
    with `lead_id`."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        return task.listed(
            conn,
            principal.workspace_id,
            lead_id=lead_id,
            assignee_id=assignee_id,
            done=_DONE[status],
        )

    return ok(public_all(TaskOut, await db.read(read)))


@router.patch("/tasks/{task_id}", response_model=Envelope[TaskOut], responses=not_found("task"))
async def update_task(
    task_id: uuid.UUID, body: TaskUpdate, principal: WriteAccess, db: DatabaseDep
) -> JSONResponse:
    """Change a task's title, due time or assignee; `done` completes or reopens it."""
    changed = await db.write(
        lambda conn: task.update(
            conn, principal.workspace_id, task_id, body, actor=_api_actor(principal.key_id)
        )
    )
    return ok(public(TaskOut, changed))


@router.post(
    "/tasks/{task_id}/complete", response_model=Envelope[TaskOut], responses=not_found("task")
)
async def complete_task(
    task_id: uuid.UUID, principal: WriteAccess, db: DatabaseDep
) -> JSONResponse:
    """Mark a task done."""
    changed = await db.write(
        lambda conn: task.update(
            conn,
            principal.workspace_id,
            task_id,
            TaskUpdate(done=True),
            actor=_api_actor(principal.key_id),
        )
    )
    return ok(public(TaskOut, changed))
