"""Pipeline overview and stage management (seed 000's pipeline endpoints)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from leadpipe.errors import Conflict, NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads.lifecycle import LeadWrites, lifecycle
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.rules import SYSTEM, Actor, plan_move
from leadpipe.pipeline.repository import StageRepository
from leadpipe.pipeline.rules import LOST, WON, StageInfo, pipeline_totals, slugify, weighted
from leadpipe.pipeline_api.schemas import StageCreate, StageReorder, StageUpdate

# Status words from providers map to these (DESIGN §2.5): they cannot be switched off.
BUILT_IN = (WON, LOST)


def _stage_view(
    row: dict[str, Any], counts: dict[str, tuple[int, Decimal]] | None
) -> dict[str, Any]:
    view = {
        "stage": row["stage_slug"],
        "stage_name": row["stage_name"],
        "stage_slug": row["stage_slug"],
        "description": row["description"],
        "color": row["color"],
        "stage_order": row["stage_order"],
        "conversion_probability": row["conversion_probability"],
        "is_default": row["is_default"],
        "is_active": row["is_active"],
    }
    if counts is not None:
        count, value = counts.get(row["stage_slug"], (0, Decimal(0)))
        view.update(
            count=count, value=value, weighted_value=weighted(value, row["conversion_probability"])
        )
    return view


def _stage_info(row: dict[str, Any]) -> StageInfo:
    return StageInfo(
        row["stage_slug"], row["stage_name"], row["conversion_probability"], row["is_default"]
    )


class PipelineService:
    def stages(
        self, conn: Connection, workspace_id: str, *, include_inactive: bool
    ) -> list[dict[str, Any]]:
        repo = StageRepository(conn)
        rows = repo.all(workspace_id, include_inactive=include_inactive)
        if not rows and not repo.all(workspace_id):
            # Seed 000's ensure_workspace_pipeline: a workspace always has its pipeline.
            repo.ensure_default_pipeline(workspace_id, utcnow())
            rows = repo.all(workspace_id, include_inactive=include_inactive)
        counts = LeadQueries(conn).stage_totals(workspace_id, None, None)
        return [_stage_view(r, counts) for r in rows]

    def overview(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        include_counts: bool,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> dict[str, Any]:
        rows = StageRepository(conn).all(workspace_id)
        counts = (
            LeadQueries(conn).stage_totals(workspace_id, created_from, created_to)
            if include_counts
            else None
        )
        # Inactive stages show only while leads still sit in them.
        shown = [r for r in rows if r["is_active"] or (counts or {}).get(r["stage_slug"])]
        stages = [_stage_view(r, counts) for r in shown]
        overview: dict[str, Any] = {
            "workspace_id": workspace_id,
            "date_range": {"from": created_from, "to": created_to},
            "stages": stages,
        }
        if counts is not None:
            overview.update(pipeline_totals(stages))
        return overview

    def create(self, conn: Connection, workspace_id: str, body: StageCreate) -> dict[str, Any]:
        repo = StageRepository(conn)
        existing = repo.all(workspace_id)
        slug = body.stage_slug or slugify(body.stage_name)
        now = utcnow()
        order = body.stage_order or (max((r["stage_order"] for r in existing), default=0) + 1)
        if body.is_default:
            repo.clear_default(workspace_id)
        created = repo.insert(
            {
                "id": uuid7(),
                "workspace_id": workspace_id,
                "stage_name": body.stage_name,
                "stage_slug": slug,
                "description": body.description,
                "color": body.color,
                "stage_order": order,
                "conversion_probability": body.conversion_probability,
                "is_default": body.is_default,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        if not created:
            raise Conflict(f"Stage '{slug}' already exists in this workspace")
        if body.stage_order is not None:  # slot it in: later stages move down one
            slugs = [r["stage_slug"] for r in existing]
            slugs.insert(min(order - 1, len(slugs)), slug)
            repo.set_orders(workspace_id, slugs, now)
        return self._one(conn, workspace_id, slug)

    def update(
        self, conn: Connection, workspace_id: str, slug: str, body: StageUpdate
    ) -> dict[str, Any]:
        repo = StageRepository(conn)
        stage = self._get(repo, workspace_id, slug)
        values = body.model_dump(exclude_unset=True)
        if values.get("is_active") is False:
            self._check_can_close(stage, "deactivate")
        if values.get("is_default") is False and stage["is_default"]:
            raise ValidationFailed(
                "Invalid stage change",
                [field_error("is_default", "make another stage the default instead")],
            )
        if values.get("is_default"):
            repo.clear_default(workspace_id)
        now = utcnow()
        order = values.pop("stage_order", None)
        repo.update(workspace_id, slug, {**values, "updated_at": now})
        if order is not None:
            slugs = [r["stage_slug"] for r in repo.all(workspace_id) if r["stage_slug"] != slug]
            slugs.insert(min(order - 1, len(slugs)), slug)
            repo.set_orders(workspace_id, slugs, now)
        return self._one(conn, workspace_id, slug)

    def reorder(
        self, conn: Connection, workspace_id: str, body: StageReorder
    ) -> list[dict[str, Any]]:
        repo = StageRepository(conn)
        current = {r["stage_slug"] for r in repo.all(workspace_id)}
        if sorted(body.order) != sorted(current):
            raise ValidationFailed(
                "Invalid stage order",
                [
                    field_error(
                        "order", f"must list each stage exactly once: {', '.join(sorted(current))}"
                    )
                ],
            )
        repo.set_orders(workspace_id, body.order, utcnow())
        return self.stages(conn, workspace_id, include_inactive=True)

    def delete(
        self,
        conn: Connection,
        workspace_id: str,
        slug: str,
        move_to: str | None,
        actor: Actor = SYSTEM,
    ) -> int:
        """Delete a stage; leads in it must be moved (``move_to``) or the delete is refused.
        The moves are recorded as ``actor``'s (who deleted the stage)."""
        repo = StageRepository(conn)
        stage = self._get(repo, workspace_id, slug)
        self._check_can_close(stage, "delete")
        holding = LeadQueries(conn).ids_in_stage(workspace_id, slug)
        if holding and move_to is None:
            raise Conflict(
                f"Stage '{slug}' holds {len(holding)} leads; deactivate it, or "
                "delete it with move_to=<stage> to move them"
            )
        moved = 0
        if holding:
            target = self._get(repo, workspace_id, move_to or "", field="move_to")
            if target["stage_slug"] == slug or not target["is_active"]:
                raise ValidationFailed(
                    "Invalid move", [field_error("move_to", "must be another, active stage")]
                )
            now = utcnow()
            plan = plan_move(
                slug,
                _stage_info(target),
                actor=actor,
                reason=f"stage '{slug}' deleted",
                source="Pipeline",
                now=now,
            )
            moved = lifecycle.move_all(
                LeadWrites(conn),
                workspace_id=workspace_id,
                from_stage=slug,
                lead_ids=holding,
                plan=plan,
                actor=actor,
                now=now,
            )
        repo.delete(workspace_id, slug)
        return moved

    @staticmethod
    def _check_can_close(stage: dict[str, Any], verb: str) -> None:
        if stage["stage_slug"] in BUILT_IN:
            raise ValidationFailed(
                f"Cannot {verb} this stage",
                [
                    field_error(
                        "stage",
                        f"'{stage['stage_slug']}' is where provider statuses land; rename it "
                        "instead",
                    )
                ],
            )
        if stage["is_default"]:
            raise ValidationFailed(
                f"Cannot {verb} this stage",
                [
                    field_error(
                        "stage", "it is the default stage; make another stage the default first"
                    )
                ],
            )

    @staticmethod
    def _get(
        repo: StageRepository, workspace_id: str, slug: str, field: str = "stage"
    ) -> dict[str, Any]:
        stage = repo.get(workspace_id, slug)
        if stage is None:
            if field == "stage":
                raise NotFound(f"Stage '{slug}' not found")
            raise ValidationFailed("Unknown stage", [field_error(field, f"no stage '{slug}'")])
        return stage

    def _one(self, conn: Connection, workspace_id: str, slug: str) -> dict[str, Any]:
        counts = LeadQueries(conn).stage_totals(workspace_id, None, None)
        return _stage_view(self._get(StageRepository(conn), workspace_id, slug), counts)


pipeline = PipelineService()
