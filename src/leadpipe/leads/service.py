"""The Lead API's commands and reads: list, get, create, update, stage moves, activities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import UserRepository, WorkspaceRepository
from leadpipe.activities import rules as activity_rules
from leadpipe.activities.repository import ActivityQueries, ActivityRepository
from leadpipe.activities.rules import ActivityDraft
from leadpipe.contacts.rules import search_terms
from leadpipe.customfields.service import custom_fields
from leadpipe.errors import NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads import submission
from leadpipe.leads.lifecycle import LeadWrites, lifecycle
from leadpipe.leads.queries import LeadFilters, LeadQueries
from leadpipe.leads.repository import LeadRepository
from leadpipe.leads.rules import Actor, edited, plan_move, product_key
from leadpipe.leads.schemas import ActivityCreate, LeadCreate, LeadSelection, LeadUpdate
from leadpipe.pipeline.repository import StageRepository
from leadpipe.pipeline.rules import StageInfo, default_stage, stage_typed, transition_error
from leadpipe.tasks.repository import TaskRepository


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: dict[str, StageInfo]
    order: dict[str, int]

    @classmethod
    def load(cls, conn: Connection, workspace_id: str) -> Pipeline:
        stages = StageRepository(conn).active_stages(workspace_id)
        return cls({s.slug: s for s in stages}, {s.slug: i for i, s in enumerate(stages)})

    def stage(self, slug: str, field: str = "stage") -> StageInfo:
        if slug not in self.stages:
            raise ValidationFailed(
                "Unknown stage",
                [
                    field_error(
                        field,
                        f"'{slug}' is not an active stage; use one of {', '.join(self.stages)}",
                    )
                ],
            )
        return self.stages[slug]

    def default(self) -> StageInfo:
        return default_stage(self.stages.values())


class LeadService:
    # -- the Lead API ----------------------------------------------------------------------

    def page(
        self,
        conn: Connection,
        filters: LeadFilters,
        *,
        sort: str,
        descending: bool,
        limit: int,
        offset: int,
        include_activities: bool,
        include_tasks: bool = True,
    ) -> tuple[list[dict[str, Any]], int]:
        """``include_tasks``: each lead's open and due tasks (``open_tasks``,
        ``due_tasks``), for the dashboard's badges."""
        queries = LeadQueries(conn)
        filters = self.as_stored(conn, filters)
        total = queries.kept_count(filters)
        if total is not None and offset >= total:
            leads: list[
                dict[str, Any]
            ] = []  # nothing there: no need to look (a rare stage would scan the index)
        elif filters.text is not None:
            # A search visits all its matches to count them: the page comes with the count.
            leads, total = queries.counted_page(
                filters, sort=sort, descending=descending, limit=limit, offset=offset
            )
        else:
            leads = queries.page(
                filters, sort=sort, descending=descending, limit=limit, offset=offset
            )
        if total is None:
            # A short page is the last one: its length gives the total without a count.
            last_page = len(leads) < limit and (bool(leads) or offset == 0)
            total = offset + len(leads) if last_page else queries.count(filters)
        if include_activities:
            by_lead: dict[uuid.UUID, list[dict[str, Any]]] = {lead["id"]: [] for lead in leads}
            for activity in ActivityQueries(conn).for_leads(list(by_lead)):
                by_lead[activity["lead_id"]].append(activity)
            for lead in leads:
                lead["activities"] = by_lead[lead["id"]]
        if include_tasks:
            counts = TaskRepository(conn).open_per_lead(
                filters.workspace_id, [one["id"] for one in leads], utcnow()
            )
            for lead in leads:
                lead["open_tasks"], lead["due_tasks"] = counts.get(lead["id"], (0, 0))
        return leads, total

    def filters(self, conn: Connection, workspace_id: str, chosen: LeadSelection) -> LeadFilters:
        """The selection as the lead queries read it: a product by its key, ``q`` as an
        email, a phone (in the workspace's region) or text."""
        region = WorkspaceRepository(conn).region(workspace_id) if chosen.q else "US"
        return LeadFilters(
            workspace_id=workspace_id,
            stage=chosen.stage,
            source=chosen.source,
            product_key=product_key(chosen.product) if chosen.product else None,
            priority=chosen.priority,
            temperature=chosen.temperature,
            assigned_to=chosen.assigned_to,
            assigned_user_id=chosen.assigned_user_id,
            is_active=chosen.is_active,
            created_from=chosen.created_from,
            created_to=chosen.created_to,
            **(search_terms(chosen.q, region) if chosen.q else {}),
        )

    def as_stored(self, conn: Connection, filters: LeadFilters) -> LeadFilters:
        """Filters as people type them (``stage=Won``, ``source=facebook ads``), in the
        spelling the leads store: the stage's slug, the source's most used spelling."""
        changes: dict[str, Any] = {}
        if filters.stage or filters.stages:
            stages = StageRepository(conn).all(filters.workspace_id)
            named = [(r["stage_slug"], r["stage_name"]) for r in stages]

            def slug(typed: str) -> str:
                return stage_typed(named, typed) or typed

            if filters.stage:
                changes["stage"] = slug(filters.stage)
            if filters.stages:
                changes["stages"] = tuple(slug(s) for s in filters.stages)
        queries = LeadQueries(conn)

        def source(typed: str) -> str:
            return queries.stored_source(filters.workspace_id, typed) or typed

        if filters.source:
            changes["source"] = source(filters.source)
        if filters.sources:
            changes["sources"] = tuple(source(s) for s in filters.sources)
        return replace(filters, **changes) if changes else filters

    def get(self, conn: Connection, workspace_id: str, lead_id: uuid.UUID) -> dict[str, Any]:
        lead = LeadQueries(conn).one(workspace_id, lead_id)
        if lead is None:
            raise NotFound(f"Lead '{lead_id}' not found")
        return lead

    def create(
        self, conn: Connection, workspace_id: str, body: LeadCreate, actor: Actor
    ) -> dict[str, Any]:
        if not LeadQueries(conn).contact_exists(workspace_id, body.contact_id):
            raise ValidationFailed(
                "Invalid lead",
                [
                    field_error(
                        "contact_id",
                        f"contact '{body.contact_id}' does not exist in this workspace",
                    )
                ],
            )
        pipeline = Pipeline.load(conn, workspace_id)
        stage = pipeline.stage(body.stage) if body.stage else pipeline.default()
        fields = body.model_dump(exclude={"contact_id", "workspace_id", "stage"}, exclude_none=True)
        fields["custom_fields"] = self._custom_fields(conn, workspace_id, fields, creating=True)
        outcome = submission.submit_one(
            conn,
            submission.by_hand(
                workspace_id,
                body.contact_id,
                stage,
                fields,
                actor,
                region=WorkspaceRepository(conn).region(workspace_id),
            ),
            utcnow(),
        )
        assert outcome.lead.id is not None
        return self.get(conn, workspace_id, outcome.lead.id)

    def update(
        self,
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        body: LeadUpdate,
        actor: Actor,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """``now`` is only given by backfills such as the demo."""
        lead = self.get(conn, workspace_id, lead_id)
        now = now or utcnow()
        values = body.model_dump(exclude={"stage"}, exclude_unset=True)
        if values.get("custom_fields") is not None:
            values["custom_fields"] = {
                **lead["custom_fields"],
                **self._custom_fields(conn, workspace_id, values, creating=False),
            }
        if "product_interest" in values:
            values["product_key"] = product_key(values["product_interest"])
        if values.get("assigned_user_id") is not None:
            _must_be_member(conn, workspace_id, values["assigned_user_id"])
        also = _what_changed(conn, lead, values, actor)
        values["updated_by"] = actor.id
        self._change(conn, workspace_id, lead, body.stage, values, actor, now, also)
        return self.get(conn, workspace_id, lead_id)

    def _change(
        self,
        conn: Connection,
        workspace_id: str,
        lead: dict[str, Any],
        target_slug: str | None,
        values: dict[str, Any],
        actor: Actor,
        now: datetime,
        also: Sequence[ActivityDraft] = (),
    ) -> None:
        """Set ``values`` on a lead, moving it to ``target_slug`` too when that is another
        stage, checked against the transition rules; ``also`` goes on its timeline."""
        writes = LeadWrites(conn)
        patch = {"last_change": actor.metadata}
        if target_slug is None or target_slug == lead["stage"]:
            lifecycle.touch(
                writes,
                lead_id=lead["id"],
                workspace_id=workspace_id,
                values=values,
                actor=actor,
                now=now,
                drafts=also,
                metadata_patch=patch,
            )
            return
        pipeline = Pipeline.load(conn, workspace_id)
        target = pipeline.stage(target_slug)
        problem = transition_error(lead["stage"], target.slug, pipeline.order)
        if problem is not None:
            raise ValidationFailed("Stage change not allowed", [field_error("stage", problem)])
        plan = plan_move(
            lead["stage"],
            target,
            actor=actor,
            reason="changed by hand",
            source=actor.name,
            now=now,
            lost_reason=values.get("lost_reason"),
        )
        lifecycle.move(
            writes,
            lead_id=lead["id"],
            workspace_id=workspace_id,
            plan=plan,
            actor=actor,
            now=now,
            values=values,
            metadata_patch=patch,
            also=also,
        )

    def delete_many(
        self, conn: Connection, workspace_id: str, lead_ids: Sequence[uuid.UUID]
    ) -> int:
        """Delete leads with their timelines and stage history; how many there were."""
        return LeadRepository(conn).delete_many(workspace_id, lead_ids)

    def add_activity(
        self,
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        body: ActivityCreate,
        actor: Actor,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """``now`` is only given by backfills such as the demo."""
        lead = self.get(conn, workspace_id, lead_id)
        now = now or utcnow()
        self._change(conn, workspace_id, lead, body.stage, {"last_activity_at": now}, actor, now)
        activity_id = uuid7()
        ActivityRepository(conn).add_many(
            [
                {
                    "id": activity_id,
                    "lead_id": lead_id,
                    "workspace_id": workspace_id,
                    **body.model_dump(exclude={"stage"}, exclude_none=True),
                    "activity_data": body.activity_data or {},
                    "activity_category": "manual",
                    "is_automated": False,
                    "metadata": actor.metadata,
                    "created_at": now,
                }
            ]
        )
        activities = ActivityQueries(conn).for_leads([lead_id])
        return next(a for a in activities if a["id"] == activity_id)

    def activities(
        self,
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        *,
        activity_type: str | None,
        outcome: str | None,
    ) -> list[dict[str, Any]]:
        self.get(conn, workspace_id, lead_id)
        return ActivityQueries(conn).for_leads(
            [lead_id], activity_type=activity_type, outcome=outcome
        )

    @staticmethod
    def _custom_fields(
        conn: Connection, workspace_id: str, values: dict[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        return custom_fields.checked_values(
            conn,
            workspace_id,
            values.get("custom_fields") or {},
            region=WorkspaceRepository(conn).region(workspace_id),
            creating=creating,
        )


lead = LeadService()


def _what_changed(
    conn: Connection, lead: dict[str, Any], values: dict[str, Any], actor: Actor
) -> list[ActivityDraft]:
    """The timeline entries of an edit: who gave the lead to whom, who changed which
    fields from what to what. Nothing when nothing changes."""
    drafts = []
    changes = edited(lead, values)
    if changes:
        drafts.append(activity_rules.lead_edited(actor.name, changes))
    if "assigned_user_id" in values and values["assigned_user_id"] != lead["assigned_user_id"]:
        drafts.append(
            activity_rules.lead_assigned(actor.name, _user_name(conn, values["assigned_user_id"]))
        )
    return drafts


def _user_name(conn: Connection, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    found = UserRepository(conn).by_id(user_id)
    return (found["name"] or found["email"]) if found else str(user_id)


def _must_be_member(conn: Connection, workspace_id: str, user_id: uuid.UUID) -> None:
    if not UserRepository(conn).is_member(workspace_id, user_id):
        raise ValidationFailed(
            "Invalid assignee",
            [field_error("assigned_user_id", "is not a user of this workspace")],
        )
