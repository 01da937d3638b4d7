"""The Lead API's commands and reads: list, get, create, update, stage moves, activities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.activities import rules as activity_rules
from leadpipe.activities.repository import ActivityQueries, ActivityRepository
from leadpipe.customfields.service import custom_fields
from leadpipe.errors import NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads.repository import LeadFilters, LeadQueries, LeadRepository, stage_change
from leadpipe.leads.rules import product_key, stage_effects
from leadpipe.leads.schemas import ActivityCreate, LeadCreate, LeadUpdate
from leadpipe.pipeline.repository import StageInfo, StageRepository, default_stage
from leadpipe.pipeline.rules import WON, transition_error


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting through the API: recorded on history rows and activities."""

    id: str
    name: str

    @classmethod
    def api_key(cls, key_id: str) -> Actor:
        return cls(f"api_key:{key_id}", "API")

    @property
    def meta(self) -> dict[str, Any]:
        return {"source": "api", "actor": {"id": self.id, "name": self.name}}


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
    ) -> tuple[list[dict[str, Any]], int]:
        queries = LeadQueries(conn)
        total = queries.kept_count(filters)
        if total is not None and offset >= total:
            leads = []  # nothing there: no need to look (a rare stage would scan the index)
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
        return leads, total

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
        now = utcnow()
        lead_id = uuid7()
        fields = body.model_dump(exclude={"contact_id", "workspace_id", "stage"}, exclude_none=True)
        fields["custom_fields"] = self._custom_fields(conn, workspace_id, fields, creating=True)
        LeadRepository(conn).insert(
            {
                **fields,
                "id": lead_id,
                "contact_id": body.contact_id,
                "workspace_id": workspace_id,
                "product_key": product_key(body.product_interest),
                **stage_effects(stage.slug, probability=stage.probability, now=now),
                "created_by": actor.id,
                "updated_by": actor.id,
                "last_activity_at": now,
                "metadata": actor.meta,
                "tags": fields.get("tags", []),
                "custom_fields": fields.get("custom_fields", {}),
                "created_at": now,
                "updated_at": now,
            }
        )
        self._record_stage(conn, workspace_id, lead_id, None, stage, actor, "created by hand", now)
        drafts = [activity_rules.lead_created("API")]
        if stage.slug == WON:
            drafts.append(activity_rules.lead_converted(stage.name))
        ActivityRepository(conn).add_automated(lead_id, workspace_id, drafts, actor.meta, now)
        return self.get(conn, workspace_id, lead_id)

    def update(
        self,
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        body: LeadUpdate,
        actor: Actor,
    ) -> dict[str, Any]:
        lead = self.get(conn, workspace_id, lead_id)
        now = utcnow()
        values = body.model_dump(exclude={"stage"}, exclude_unset=True)
        if values.get("custom_fields") is not None:
            values["custom_fields"] = {
                **lead["custom_fields"],
                **self._custom_fields(conn, workspace_id, values, creating=False),
            }
        if "product_interest" in values:
            values["product_key"] = product_key(values["product_interest"])
        drafts: list[activity_rules.ActivityDraft] = []
        if body.stage is not None and body.stage != lead["stage"]:
            values.update(self._move(conn, workspace_id, lead, body.stage, actor, now, drafts))
        values.update(updated_at=now, updated_by=actor.id)
        LeadRepository(conn).update_counted(
            workspace_id, lead_id, values, {"last_change": actor.meta}
        )
        ActivityRepository(conn).add_automated(lead_id, workspace_id, drafts, actor.meta, now)
        return self.get(conn, workspace_id, lead_id)

    def _move(
        self,
        conn: Connection,
        workspace_id: str,
        lead: dict[str, Any],
        target_slug: str,
        actor: Actor,
        now: datetime,
        drafts: list[activity_rules.ActivityDraft],
    ) -> dict[str, object]:
        """Check a stage move against the transition rules; record history and timeline."""
        pipeline = Pipeline.load(conn, workspace_id)
        target = pipeline.stage(target_slug)
        current = lead["stage"]
        problem = transition_error(current, target.slug, pipeline.order)
        if problem is not None:
            raise ValidationFailed("Stage change not allowed", [field_error("stage", problem)])
        self._record_stage(
            conn, workspace_id, lead["id"], current, target, actor, "changed by hand", now
        )
        drafts.append(activity_rules.status_updated(current, target.slug, actor.name))
        if target.slug == WON:
            drafts.append(activity_rules.lead_converted(target.name))
        return {
            **stage_effects(target.slug, probability=target.probability, now=now, previous=current),
            "previous_stage": current,
        }

    def add_activity(
        self,
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        body: ActivityCreate,
        actor: Actor,
    ) -> dict[str, Any]:
        lead = self.get(conn, workspace_id, lead_id)
        now = utcnow()
        drafts: list[activity_rules.ActivityDraft] = []
        values: dict[str, Any] = {"last_activity_at": now, "updated_at": now}
        if body.stage is not None and body.stage != lead["stage"]:
            values.update(self._move(conn, workspace_id, lead, body.stage, actor, now, drafts))
        LeadRepository(conn).update_counted(workspace_id, lead_id, values, {})
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
                    "metadata": actor.meta,
                    "created_at": now,
                }
            ]
        )
        ActivityRepository(conn).add_automated(lead_id, workspace_id, drafts, actor.meta, now)
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

    @staticmethod
    def _record_stage(
        conn: Connection,
        workspace_id: str,
        lead_id: uuid.UUID,
        old: str | None,
        new: StageInfo,
        actor: Actor,
        reason: str,
        now: datetime,
    ) -> None:
        LeadRepository(conn).add_status_change(
            stage_change(
                lead_id,
                workspace_id,
                old,
                new.slug,
                by=actor.id,
                by_name=actor.name,
                reason=reason,
                metadata=actor.meta,
                now=now,
            )
        )


lead = LeadService()
