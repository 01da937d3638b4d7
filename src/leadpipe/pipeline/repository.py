"""Every SQL statement about pipeline stages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, select, update

from leadpipe.pipeline.rules import DEFAULT_STAGES, StageInfo
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert, json_array, json_array_agg, per_dialect
from leadpipe.storage.models import PipelineStage
from leadpipe.storage.work import Work

STAGES = table_of(PipelineStage)
_s = STAGES.c

_ACTIVE = (
    select(_s.stage_slug, _s.stage_name, _s.conversion_probability, _s.is_default)
    .where(_s.workspace_id == bindparam("workspace_id"), _s.is_active)
    .order_by(_s.stage_order)
)
_INSERT_IF_MISSING = per_dialect(lambda d: insert(d, STAGES).on_conflict_do_nothing())


def active_stages_column(dialect: str, workspace_id: ColumnElement[Any]) -> Any:
    """A workspace's active stages as one JSON column, for queries that need the pipeline
    alongside other rows without a round trip of their own. Read with ``stages_from_json``."""
    row = json_array(
        dialect,
        _s.stage_order,
        _s.stage_slug,
        _s.stage_name,
        _s.conversion_probability,
        _s.is_default,
    )
    return (
        select(json_array_agg(dialect, row))
        .where(_s.workspace_id == workspace_id, _s.is_active)
        .scalar_subquery()
        .label("stages")
    )


def stages_from_json(rows: list[list[Any]] | None) -> tuple[StageInfo, ...]:
    ordered = sorted(rows or [], key=lambda r: r[0])
    return tuple(StageInfo(slug, name, int(p), bool(d)) for _, slug, name, p, d in ordered)


class StageRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def active_stages(self, workspace_id: str) -> list[StageInfo]:
        rows = self.work.run(_ACTIVE, {"workspace_id": workspace_id}).rows
        return [StageInfo(*row) for row in rows]

    def ensure_default_pipeline(self, workspace_id: str, now: datetime) -> None:
        """Seed 000's ``ensure_workspace_pipeline``: the default stages, once."""
        rows = [
            {
                "workspace_id": workspace_id,
                "stage_name": t.name,
                "stage_slug": t.slug,
                "color": t.color,
                "stage_order": order,
                "conversion_probability": t.probability,
                "is_default": t.is_default,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for order, t in enumerate(DEFAULT_STAGES, start=1)
        ]
        self.conn.execute(_INSERT_IF_MISSING(self.conn), rows)

    def all(self, workspace_id: str, *, include_inactive: bool = True) -> list[dict[str, Any]]:
        stmt = select(STAGES).where(_s.workspace_id == workspace_id)
        if not include_inactive:
            stmt = stmt.where(_s.is_active)
        rows = self.conn.execute(stmt.order_by(_s.stage_order, _s.stage_name)).mappings()
        return [dict(r) for r in rows]

    def get(self, workspace_id: str, slug: str) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(STAGES).where(_s.workspace_id == workspace_id, _s.stage_slug == slug)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def insert(self, values: dict[str, Any]) -> bool:
        """False when the workspace already has a stage with this slug."""
        stmt = insert(self.conn.dialect.name, STAGES).values(**values).on_conflict_do_nothing()
        return self.conn.execute(stmt.returning(_s.id)).first() is not None

    def update(self, workspace_id: str, slug: str, values: dict[str, Any]) -> None:
        self.conn.execute(
            update(STAGES)
            .where(_s.workspace_id == workspace_id, _s.stage_slug == slug)
            .values(**values)
        )

    def clear_default(self, workspace_id: str) -> None:
        self.conn.execute(
            update(STAGES)
            .where(_s.workspace_id == workspace_id, _s.is_default)
            .values(is_default=False)
        )

    def set_orders(self, workspace_id: str, slugs: list[str], now: datetime) -> None:
        for position, slug in enumerate(slugs, start=1):
            self.update(workspace_id, slug, {"stage_order": position, "updated_at": now})

    def delete(self, workspace_id: str, slug: str) -> None:
        self.conn.execute(
            delete(STAGES).where(_s.workspace_id == workspace_id, _s.stage_slug == slug)
        )
