"""Every SQL statement about pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, select

from leadpipe.pipeline.rules import DEFAULT_STAGES
from leadpipe.storage import fastexec
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert, json_array, json_array_agg, per_dialect
from leadpipe.storage.models import PipelineStage

STAGES = table_of(PipelineStage)
_s = STAGES.c

_ACTIVE = (
    select(_s.stage_slug, _s.stage_name, _s.conversion_probability, _s.is_default)
    .where(_s.workspace_id == bindparam("workspace_id"), _s.is_active)
    .order_by(_s.stage_order)
)
_INSERT_IF_MISSING = per_dialect(lambda d: insert(d, STAGES).on_conflict_do_nothing())


@dataclass(frozen=True, slots=True)
class StageInfo:
    slug: str
    name: str
    probability: int
    is_default: bool


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
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def active_stages(self, workspace_id: str) -> list[StageInfo]:
        rows = fastexec.execute(self.conn, _ACTIVE, {"workspace_id": workspace_id}).rows
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
