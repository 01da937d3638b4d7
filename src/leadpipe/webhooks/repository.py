"""The SQL of webhooks: their settings, the context intake reads in one query, and
their lead counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from leadpipe.pipeline.repository import active_stages_column, stages_from_json
from leadpipe.pipeline.rules import StageInfo
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import per_dialect
from leadpipe.storage.models import Provider, Webhook, Workspace
from leadpipe.storage.work import Work

WEBHOOKS = table_of(Webhook)
_wh = WEBHOOKS.c
_ws = table_of(Workspace).c
_p = table_of(Provider).c  # whom a provider may deliver to


@dataclass(frozen=True, slots=True)
class WebhookContext:
    """What intake needs to know about a webhook and its workspace, read in one query."""

    id: str
    name: str
    workspace_id: str
    is_active: bool
    lead_type: str | None
    field_mapping: dict[str, Any]
    require_phone: bool
    always_create_lead: bool
    dedup_scope: str
    default_source: str | None
    workspace_active: bool
    region: str
    window_days: int
    duplicate_window_minutes: int
    stages: tuple[StageInfo, ...]
    provider_required: bool = False
    signature_mode: str = "off"
    secrets: list[Any] = field(default_factory=list, repr=False)  # never in a log line
    rate_limit: int | None = None
    rate_window_seconds: int | None = None
    preset: str = "generic"
    preset_settings: dict[str, Any] = field(default_factory=dict, repr=False)
    intake_rules: list[Any] = field(default_factory=list)
    required_fields: list[Any] = field(default_factory=list)
    default_status: str | None = None


_CONTEXT = per_dialect(
    lambda d: (
        select(
            _wh.id,
            _wh.name,
            _wh.workspace_id,
            _wh.is_active,
            _wh.lead_type,
            _wh.field_mapping,
            _wh.require_phone,
            _wh.always_create_lead,
            _wh.dedup_scope,
            _wh.default_source,
            _ws.is_active.label("workspace_active"),
            _ws.default_region.label("region"),
            _ws.lead_window_days.label("window_days"),
            _wh.duplicate_window_minutes,
            active_stages_column(d, _ws.id),  # the pipeline rides along: one round trip
            _wh.provider_required,
            _wh.signature_mode,
            _wh.secrets,
            _wh.rate_limit,
            _wh.rate_window_seconds,
            _wh.preset,
            _wh.preset_settings,
            _wh.intake_rules,
            _wh.default_status,
            _wh.required_fields,
        )
        .join(table_of(Workspace), _ws.id == _wh.workspace_id)
        .where(_wh.id == bindparam("webhook_id"))
    )
)
_COUNT_LEADS = (
    update(WEBHOOKS)
    .where(_wh.id == bindparam("_webhook_id"))
    .values(total_leads=_wh.total_leads + bindparam("_leads"), last_lead_at=bindparam("_now"))
)


class WebhookRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def context(self, webhook_id: str) -> WebhookContext | None:
        return self.context_later(webhook_id)()

    def context_later(self, webhook_id: str) -> Callable[[], WebhookContext | None]:
        """``context``, sent now and read when called: in a pipelined transaction it shares
        a round trip with the statements read before that."""
        pending = self.work.send(_CONTEXT(self.conn), {"webhook_id": webhook_id})

        def read() -> WebhookContext | None:
            row = pending.result().first()
            if row is None:
                return None
            return WebhookContext(**{**row, "stages": stages_from_json(row["stages"])})

        return read

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(WEBHOOKS), values)

    def get(self, workspace_id: str, webhook_id: str) -> dict[str, Any] | None:
        """The webhook's settings and counters, if it belongs to the workspace."""
        row = (
            self.conn.execute(
                select(WEBHOOKS).where(_wh.id == webhook_id, _wh.workspace_id == workspace_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def for_workspace(self, workspace_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(WEBHOOKS).where(_wh.workspace_id == workspace_id).order_by(_wh.created_at)
        ).mappings()
        return [dict(r) for r in rows]

    def delete(self, webhook_id: str) -> None:
        """With its delivery log (the leads it brought in keep its id)."""
        self.conn.execute(delete(WEBHOOKS).where(_wh.id == webhook_id))

    def delete_deleted_before(self, before: datetime) -> int:
        result = self.conn.execute(delete(WEBHOOKS).where(_wh.deleted_at < before))
        return int(result.rowcount)

    def update(self, webhook_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(WEBHOOKS).where(_wh.id == webhook_id).values(**values))

    def allowed_for_provider(self, workspace_id: str, provider_id: str) -> list[str] | None:
        """The webhooks a provider of the workspace may deliver to (empty: all of them),
        or None when it has no such provider."""
        found = self.work.conn.execute(
            select(_p.allowed_webhooks).where(_p.workspace_id == workspace_id, _p.id == provider_id)
        ).first()
        return None if found is None else list(found[0] or [])

    def count_leads(self, webhook_id: str, leads: int, last_at: datetime) -> None:
        self.work.run(_COUNT_LEADS, {"_webhook_id": webhook_id, "_leads": leads, "_now": last_at})
