"""Every SQL statement about webhooks, deliveries and the intake log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from leadpipe.pipeline.repository import active_stages_column, stages_from_json
from leadpipe.pipeline.rules import StageInfo
from leadpipe.storage import fastexec
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert as upsert_insert
from leadpipe.storage.dialect import per_dialect
from leadpipe.storage.models import InboundRequest, Webhook, WebhookDelivery, Workspace
from leadpipe.storage.writebehind import WriteBehind, write

WEBHOOKS = table_of(Webhook)
DELIVERIES = table_of(WebhookDelivery)
INBOUND_LOG = table_of(InboundRequest)
_wh = WEBHOOKS.c
_ws = table_of(Workspace).c
_d = DELIVERIES.c


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
    stages: tuple[StageInfo, ...]


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
            active_stages_column(d, _ws.id),  # the pipeline rides along: one round trip
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
# The unique (webhook_id, delivery_key) settles concurrent duplicates: the second insert
# waits for the first transaction, then conflicts. A claim older than the window is taken
# over (the WHERE on the update), so it counts as new.
_CLAIM = per_dialect(
    lambda d: (
        upsert_insert(d, DELIVERIES)
        .on_conflict_do_update(
            index_elements=[_d.webhook_id, _d.delivery_key],
            set_={"created_at": bindparam("_now"), "response": None, "status_code": None},
            where=_d.created_at < bindparam("_stale_before"),
        )
        .returning(_d.id)
    )
)
_STORED = select(_d.status_code, _d.response).where(
    _d.webhook_id == bindparam("webhook_id"), _d.delivery_key == bindparam("delivery_key")
)
_STORE = update(DELIVERIES).where(
    _d.webhook_id == bindparam("_webhook_id"), _d.delivery_key == bindparam("_delivery_key")
)
_LOG = insert(INBOUND_LOG)


class WebhookRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def context(self, webhook_id: str) -> WebhookContext | None:
        return self.context_later(webhook_id)()

    def context_later(self, webhook_id: str) -> Callable[[], WebhookContext | None]:
        """``context``, sent now and read when called: in a pipelined transaction it shares
        a round trip with the statements read before that."""
        pending = fastexec.submit(self.conn, _CONTEXT(self.conn), {"webhook_id": webhook_id})

        def read() -> WebhookContext | None:
            row = pending.result().first()
            if row is None:
                return None
            return WebhookContext(**{**row, "stages": stages_from_json(row["stages"])})

        return read

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(WEBHOOKS), values)

    def count_leads(self, webhook_id: str, leads: int, last_at: datetime) -> None:
        fastexec.execute(
            self.conn, _COUNT_LEADS, {"_webhook_id": webhook_id, "_leads": leads, "_now": last_at}
        )


class DeliveryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, webhook_id: str, key: str, now: datetime, stale_before: datetime) -> bool:
        """Take a delivery key for this request; False when a fresh one exists already."""
        claimed = fastexec.execute(
            self.conn,
            _CLAIM(self.conn),
            {
                "webhook_id": webhook_id,
                "delivery_key": key,
                "created_at": now,
                "_now": now,
                "_stale_before": stale_before,
            },
        ).rows
        return bool(claimed)

    def prune(self, before: datetime, *, at_most: int | None = None) -> int:
        """Forget delivery ids older than the idempotency window (the oldest ``at_most`` of
        them, when given); returns how many."""
        expired = _d.created_at < before
        if at_most is not None:
            oldest = select(_d.id).where(expired).order_by(_d.created_at).limit(at_most)
            expired = _d.id.in_(oldest.scalar_subquery())
        result = self.conn.execute(delete(DELIVERIES).where(expired))
        return int(result.rowcount)

    def stored_response(self, webhook_id: str, key: str) -> tuple[int, dict[str, Any]] | None:
        row = fastexec.execute(
            self.conn, _STORED, {"webhook_id": webhook_id, "delivery_key": key}
        ).first()
        if row is None or row["response"] is None:
            return None
        return row["status_code"], row["response"]

    def store_response(
        self, webhook_id: str, key: str, status_code: int, response: dict[str, Any]
    ) -> None:
        fastexec.execute(
            self.conn,
            _STORE,
            {
                "_webhook_id": webhook_id,
                "_delivery_key": key,
                "status_code": status_code,
                "response": response,
            },
        )


class InboundLogRepository:
    """``later``, when given, holds the writes to the end of the transaction."""

    def __init__(self, conn: Connection, later: WriteBehind | None = None) -> None:
        self.conn = conn
        self.later = later

    def add(self, values: dict[str, Any]) -> None:
        write(self.conn, self.later, _LOG, values)
