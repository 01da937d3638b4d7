"""The lead lifecycle: the one way a lead is opened, changed, moved, and its moves
recorded, whoever does it (the submission command, the Lead API and the dashboard, a
stage being deleted). Each leaves the same trail: the lead's columns, its stage history
and its timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.activities.repository import ActivityRepository
from leadpipe.activities.rules import ActivityDraft
from leadpipe.kit.ids import uuid7
from leadpipe.leads.repository import LeadRepository
from leadpipe.leads.rules import Actor, Transition
from leadpipe.observability.metrics import count_lead_created, count_stage_change
from leadpipe.storage.aftercommit import after_commit
from leadpipe.storage.work import Work


class LeadWrites:
    """The repositories a lead change writes through, in the caller's transaction; held
    back to its end when the work holds writes (intake's batches)."""

    def __init__(self, work: Connection | Work) -> None:
        self.leads = LeadRepository(work)
        self.activities = ActivityRepository(work)


class LeadLifecycle:
    # -- the lifecycle: the one way to open and move leads, whoever does it ---------------

    def open(
        self,
        writes: LeadWrites,
        *,
        lead_id: uuid.UUID,
        workspace_id: str,
        row: dict[str, Any],
        plan: Transition,
        actor: Actor,
        now: datetime,
        also: Sequence[ActivityDraft] = (),
    ) -> None:
        """Insert a lead (``row``: its columns but for those the plan decides) with its
        first stage history row and its timeline entries (the plan's, then ``also``)."""
        writes.leads.insert(
            {
                "last_activity_at": now,
                **row,
                **plan.values,
                "id": lead_id,
                "workspace_id": workspace_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        source, stage = row.get("lead_source"), plan.history["new_stage"]
        after_commit(lambda: count_lead_created(source, stage))  # once committed
        self._trail(writes, [lead_id], workspace_id, plan, actor, now, also)

    def move(
        self,
        writes: LeadWrites,
        *,
        lead_id: uuid.UUID,
        workspace_id: str,
        plan: Transition,
        actor: Actor,
        now: datetime,
        values: dict[str, Any] | None = None,
        metadata_patch: dict[str, Any] | None = None,
        also: Sequence[ActivityDraft] = (),
        waits_for_count_writers: bool = True,
    ) -> None:
        """Move a lead as planned, setting ``values`` too, and record the move.

        ``waits_for_count_writers``: see ``LeadRepository.update_counted``; intake's
        batches take that turn once, before their held-back writes, instead."""
        update = {"updated_at": now, **(values or {}), **plan.values}
        if waits_for_count_writers:
            writes.leads.update_counted(workspace_id, lead_id, update, metadata_patch or {})
        else:
            writes.leads.update(lead_id, update, metadata_patch or {})
        self._trail(writes, [lead_id], workspace_id, plan, actor, now, also)

    def record_moves(
        self,
        writes: LeadWrites,
        *,
        lead_ids: Sequence[uuid.UUID],
        workspace_id: str,
        plan: Transition,
        actor: Actor,
        now: datetime,
    ) -> None:
        """The history and timeline of leads moved together by one statement (a stage
        being deleted): the same trail ``move`` leaves for one."""
        self._trail(writes, lead_ids, workspace_id, plan, actor, now, ())

    @staticmethod
    def _trail(
        writes: LeadWrites,
        lead_ids: Sequence[uuid.UUID],
        workspace_id: str,
        plan: Transition,
        actor: Actor,
        now: datetime,
        also: Sequence[ActivityDraft],
    ) -> None:
        writes.leads.add_status_changes(
            [
                {
                    **plan.history,
                    "id": uuid7(),
                    "lead_id": lead_id,
                    "workspace_id": workspace_id,
                    "created_at": now,
                }
                for lead_id in lead_ids
            ]
        )
        drafts = [*plan.drafts, *also]
        for lead_id in lead_ids:
            writes.activities.add_automated(lead_id, workspace_id, drafts, actor.metadata, now)
        moved, to = plan.history["old_stage"], plan.history["new_stage"]
        if moved is not None:  # counted once committed: never a move rolled back
            after_commit(lambda: count_stage_change(moved, to, len(lead_ids)))

    def touch(
        self,
        writes: LeadWrites,
        *,
        lead_id: uuid.UUID,
        workspace_id: str,
        values: dict[str, Any],
        actor: Actor,
        now: datetime,
        drafts: Sequence[ActivityDraft] = (),
        metadata_patch: dict[str, Any] | None = None,
        waits_for_count_writers: bool = True,
    ) -> None:
        """Change a lead without moving it: set ``values`` (``updated_at`` too) and add
        ``drafts`` to its timeline. ``metadata_patch``: merged into its metadata (the
        actor's by default)."""
        update = {"updated_at": now, **values}
        patch = actor.metadata if metadata_patch is None else metadata_patch
        if waits_for_count_writers:
            writes.leads.update_counted(workspace_id, lead_id, update, patch)
        else:
            writes.leads.update(lead_id, update, patch)
        if drafts:
            writes.activities.add_automated(lead_id, workspace_id, drafts, actor.metadata, now)

    def move_all(
        self,
        writes: LeadWrites,
        *,
        workspace_id: str,
        from_stage: str,
        lead_ids: Sequence[uuid.UUID],
        plan: Transition,
        actor: Actor,
        now: datetime,
    ) -> int:
        """Move every lead of a stage at once (the stage being deleted; ``lead_ids``: the
        leads it holds), with each one's trail; how many moved."""
        moved = writes.leads.move_all(workspace_id, from_stage, {**plan.values, "updated_at": now})
        self.record_moves(
            writes, lead_ids=lead_ids, workspace_id=workspace_id, plan=plan, actor=actor, now=now
        )
        return moved


lifecycle = LeadLifecycle()
