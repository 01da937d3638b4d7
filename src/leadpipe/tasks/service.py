"""Tasks: added to a lead (on their own, or as an activity's next step), changed,
completed and reopened; each leaves a line on the lead's timeline naming who did it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import UserRepository
from leadpipe.activities import rules as activity_rules
from leadpipe.activities.repository import ActivityRepository
from leadpipe.activities.rules import ActivityDraft
from leadpipe.errors import NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.tasks.repository import TaskRepository
from leadpipe.tasks.schemas import TaskCreate, TaskUpdate


class TaskService:
    def create(
        self,
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        body: TaskCreate,
        *,
        actor: dict[str, Any],
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """A task on the lead, for ``assignee_id`` or else the lead's assignee. ``actor``:
        who adds it, as ``Actor.metadata`` says (its ``actor``: id and name)."""
        now = now or utcnow()
        actor_id, actor_name = _who(actor)
        tasks = TaskRepository(conn)
        exists, lead_assignee = tasks.lead_assignee(workspace_id, lead_id)
        if not exists:
            raise NotFound(f"Lead '{lead_id}' not found")
        fields = body.model_dump(exclude_unset=True)
        assignee = fields.get("assignee_id", lead_assignee)
        assignee_name = _member_name(conn, workspace_id, assignee)
        task_id = uuid7()
        tasks.insert(
            {
                "id": task_id,
                "workspace_id": workspace_id,
                "lead_id": lead_id,
                "title": body.title,
                "due_at": body.due_at,
                "assignee_id": assignee,
                "done_at": None,
                "created_by": actor_id,
                "created_by_name": actor_name,
                "created_at": now,
                "updated_at": now,
            }
        )
        due = f"{body.due_at:%Y-%m-%d %H:%M} UTC"
        self._record(
            conn,
            workspace_id,
            lead_id,
            activity_rules.task_added(actor_name, body.title, due, assignee_name),
            actor,
            now,
        )
        return self.get(conn, workspace_id, task_id)

    def get(self, conn: Connection, workspace_id: str, task_id: uuid.UUID) -> dict[str, Any]:
        found = TaskRepository(conn).get(workspace_id, task_id)
        if found is None:
            raise NotFound(f"Task '{task_id}' not found")
        return found

    def update(
        self,
        conn: Connection,
        workspace_id: str,
        task_id: uuid.UUID,
        body: TaskUpdate,
        *,
        actor: dict[str, Any],
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Change a task; ``done`` completes or reopens it (said on the lead's timeline)."""
        now = now or utcnow()
        _actor_id, actor_name = _who(actor)
        task = self.get(conn, workspace_id, task_id)
        fields = body.model_dump(exclude_unset=True)
        values: dict[str, Any] = {k: fields[k] for k in ("title", "due_at") if k in fields}
        if "assignee_id" in fields:
            _member_name(conn, workspace_id, fields["assignee_id"])
            values["assignee_id"] = fields["assignee_id"]
        done = fields.get("done")
        if done is not None and done != (task["done_at"] is not None):
            values["done_at"] = now if done else None
            self._record(
                conn,
                workspace_id,
                task["lead_id"],
                activity_rules.task_done(actor_name, values.get("title", task["title"]), done=done),
                actor,
                now,
            )
        TaskRepository(conn).change(task_id, {**values, "updated_at": now})
        return self.get(conn, workspace_id, task_id)

    def listed(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        lead_id: uuid.UUID | None = None,
        assignee_id: uuid.UUID | None = None,
        done: bool | None = None,
    ) -> list[dict[str, Any]]:
        if lead_id is not None and not TaskRepository(conn).lead_assignee(workspace_id, lead_id)[0]:
            raise NotFound(f"Lead '{lead_id}' not found")
        return TaskRepository(conn).listed(
            workspace_id, lead_id=lead_id, assignee_id=assignee_id, done=done
        )

    def due_count(self, conn: Connection, workspace_id: str, user_id: uuid.UUID) -> int:
        return TaskRepository(conn).due_count(workspace_id, user_id, utcnow())

    @staticmethod
    def _record(
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        draft: ActivityDraft,
        actor: dict[str, Any],
        now: datetime,
    ) -> None:
        ActivityRepository(conn).add_automated(lead_id, workspace_id, [draft], actor, now)


task = TaskService()


def _who(actor: dict[str, Any]) -> tuple[str, str]:
    named = actor.get("actor") or {}
    return str(named.get("id", "system")), str(named.get("name", "Pipeline"))


def _member_name(conn: Connection, workspace_id: str, user_id: uuid.UUID | None) -> str | None:
    """The assignee's name; refused when they are not a member of the workspace."""
    if user_id is None:
        return None
    users = UserRepository(conn)
    found = users.by_id(user_id)
    if found is None or not users.is_member(workspace_id, user_id):
        raise ValidationFailed(
            "Invalid assignee", [field_error("assignee_id", "is not a user of this workspace")]
        )
    return str(found["name"] or found["email"])
