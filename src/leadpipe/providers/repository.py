"""The SQL of lead providers: their credentials, usage and the leads they brought."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    cast,
    func,
    insert,
    select,
    union,
    update,
)

from leadpipe.leads.rules import LeadAction
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert as upsert
from leadpipe.storage.dialect import per_dialect
from leadpipe.storage.models import (
    InboundRequest,
    Lead,
    Provider,
    ProviderUsage,
)
from leadpipe.storage.models.intake import ProviderLead
from leadpipe.storage.work import Work

INBOUND_LOG = table_of(InboundRequest)
_log = INBOUND_LOG.c
PROVIDER_LEADS = table_of(ProviderLead)
_pl = PROVIDER_LEADS.c

PROVIDERS = table_of(Provider)
USAGE = table_of(ProviderUsage)
_p = PROVIDERS.c
_u = USAGE.c
_leads = table_of(Lead).c
# What intake needs to admit a provider's delivery.
_PROVIDER_BY_KEY = select(
    _p.id, _p.workspace_id, _p.is_active, _p.allowed_webhooks, _p.hourly_limit
).where(_p.key_hash == bindparam("key_hash"))
_PROVIDER_FIELDS = ("id", "workspace_id", "is_active", "allowed_webhooks", "hourly_limit")
_USAGE_COLUMNS = ("request_count", "accepted", "refused", "duplicates")


def _add_usage(dialect: str) -> Any:
    stmt = upsert(dialect, USAGE)
    return stmt.on_conflict_do_update(
        index_elements=[_u.provider_id, _u.webhook_id, _u.day],
        set_={name: USAGE.c[name] + stmt.excluded[name] for name in _USAGE_COLUMNS},
    )


_ADD_USAGE = per_dialect(_add_usage)
_TOUCH_PROVIDER = (
    update(PROVIDERS)
    .where(_p.id == bindparam("_provider_id"))
    .values(last_used_at=bindparam("_now"))
)


class ProviderRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def by_key_hashes(self, key_hashes: list[str]) -> dict[str, dict[str, Any]]:
        """What intake needs of the providers with these credentials, by their hash (a
        batch's deliveries carry few distinct ones, mostly one)."""
        found = {}
        for key_hash in key_hashes:
            rows = self.work.run(_PROVIDER_BY_KEY, {"key_hash": key_hash}).rows
            if rows:
                found[key_hash] = dict(zip(_PROVIDER_FIELDS, rows[0], strict=True))
        return found

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(PROVIDERS), values)

    def get(self, workspace_id: str, provider_id: str) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(PROVIDERS).where(_p.id == provider_id, _p.workspace_id == workspace_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def for_workspace(self, workspace_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(PROVIDERS).where(_p.workspace_id == workspace_id).order_by(_p.created_at)
        ).mappings()
        return [dict(r) for r in rows]

    def update(self, provider_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(PROVIDERS).where(_p.id == provider_id).values(**values))

    def add_usage(self, key: tuple[str, str, Any, str], counts: dict[str, int]) -> None:
        """Add a batch's deliveries to (provider, webhook, day)'s counts."""
        provider_id, webhook_id, day, workspace_id = key
        row = {name: counts.get(name, 0) for name in _USAGE_COLUMNS}
        self.work.run(
            _ADD_USAGE(self.conn),
            {
                "provider_id": provider_id,
                "webhook_id": webhook_id,
                "day": day,
                "workspace_id": workspace_id,
                **row,
            },
        )

    def touch(self, provider_id: str, now: datetime) -> None:
        self.work.run(_TOUCH_PROVIDER, {"_provider_id": provider_id, "_now": now})

    def usage(self, provider_id: str, since: Any) -> list[dict[str, Any]]:
        """Its usage per webhook and day since ``since``, newest first."""
        rows = self.conn.execute(
            select(USAGE)
            .where(_u.provider_id == provider_id, _u.day >= since)
            .order_by(_u.day.desc(), _u.webhook_id)
        ).mappings()
        return [dict(r) for r in rows]

    def leads_brought(self, provider_id: str) -> tuple[int, int]:
        """How many leads its deliveries created, and how many of those converted: from
        the intake log, and for deliveries pruned from it, from the leads kept apart."""
        created = union(
            select(_log.lead_id).where(
                _log.provider_id == provider_id, _log.lead_action == LeadAction.CREATE.value
            ),
            select(_pl.lead_id).where(_pl.provider_id == provider_id),
        ).scalar_subquery()
        row = self.conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(cast(_leads.is_converted, Integer)), 0),
            ).where(_leads.id.in_(created))
        ).one()
        return int(row[0]), int(row[1])
