"""Every SQL statement about webhooks, deliveries and the intake log."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from leadpipe.intake.rules.deliveries import BODY_CLAIM_PREFIX
from leadpipe.leads.rules import LeadAction
from leadpipe.pipeline.repository import active_stages_column, stages_from_json
from leadpipe.pipeline.rules import StageInfo
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import batches_lookups, per_dialect
from leadpipe.storage.dialect import insert as upsert
from leadpipe.storage.models import (
    InboundRequest,
    Lead,
    Provider,
    ProviderUsage,
    Webhook,
    WebhookDelivery,
    Workspace,
)
from leadpipe.storage.models.intake import ProviderLead
from leadpipe.storage.work import Work

WEBHOOKS = table_of(Webhook)
DELIVERIES = table_of(WebhookDelivery)
INBOUND_LOG = table_of(InboundRequest)
_wh = WEBHOOKS.c
_ws = table_of(Workspace).c
_d = DELIVERIES.c
_log = INBOUND_LOG.c


@dataclass(frozen=True, slots=True)
class Answered:
    """What an earlier delivery with the same key was answered, and when."""

    at: datetime
    status_code: int | None
    response: dict[str, Any] | None
    signed_at: int | None = None  # the signed delivery's webhook-timestamp


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
# A delivery's earlier answers, by (webhook, delivery key); on PostgreSQL for a whole
# batch in one query over the pairs.
_EARLIER = select(_d.created_at, _d.status_code, _d.response, _d.signed_at).where(
    _d.webhook_id == bindparam("webhook_id"), _d.delivery_key == bindparam("delivery_key")
)
_CLAIM_PAIRS = (
    func.unnest(
        bindparam("webhook_ids", type_=ARRAY(String())),
        bindparam("delivery_keys", type_=ARRAY(String())),
    )
    .table_valued(column("webhook_id", String()), column("delivery_key", String()))
    .render_derived(name="pairs")
)
_EARLIER_OF_PAIRS = select(
    _d.webhook_id, _d.delivery_key, _d.created_at, _d.status_code, _d.response, _d.signed_at
).select_from(
    _CLAIM_PAIRS.join(
        DELIVERIES,
        and_(
            _d.webhook_id == _CLAIM_PAIRS.c.webhook_id,
            _d.delivery_key == _CLAIM_PAIRS.c.delivery_key,
        ),
    )
)
# The unique (webhook_id, delivery_key) settles concurrent duplicates: the second insert
# waits for the first transaction, then conflicts, and its delivery is done again, when
# it finds the first one's answer.
_RECORD = insert(DELIVERIES)
_RENEW = update(DELIVERIES).where(
    _d.webhook_id == bindparam("_webhook_id"), _d.delivery_key == bindparam("_delivery_key")
)
_LOG = insert(INBOUND_LOG)
_log = INBOUND_LOG.c
_MARK_REPLAYED = update(INBOUND_LOG).where(_log.id == bindparam("_original"))
PROVIDER_LEADS = table_of(ProviderLead)
_pl = PROVIDER_LEADS.c
# The log's record of which provider's delivery created which lead: kept apart from the
# rows the log prunes, since a provider's leads count from it.
_CREATED_BY_A_PROVIDER = and_(
    _log.provider_id.is_not(None),
    _log.lead_action == LeadAction.CREATE.value,
    _log.lead_id.is_not(None),
)
# Lists leave out what came with a refusal (a body may be up to the body limit), and say
# only whether it was kept.
_LISTED = (
    *(c for c in INBOUND_LOG.c if c.name not in ("raw_body", "request_headers")),
    _log.raw_body.is_not(None).label("has_body"),
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

    def count_leads(self, webhook_id: str, leads: int, last_at: datetime) -> None:
        self.work.run(_COUNT_LEADS, {"_webhook_id": webhook_id, "_leads": leads, "_now": last_at})


class DeliveryRepository:
    """Writes wait for the end of the transaction when its work holds them."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def earlier(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Answered]:
        """What was answered to deliveries with these (webhook, key) before, where any."""
        if not batches_lookups(self.conn) or len(keys) == 1:
            found = {}
            for webhook_id, key in keys:
                row = self.work.run(_EARLIER, {"webhook_id": webhook_id, "delivery_key": key}).rows
                if row:
                    found[webhook_id, key] = Answered(*row[0])
            return found
        rows = self.work.run(
            _EARLIER_OF_PAIRS,
            {"webhook_ids": [w for w, _ in keys], "delivery_keys": [k for _, k in keys]},
        ).rows
        return {(w, k): Answered(*answer) for w, k, *answer in rows}

    def record(
        self,
        webhook_id: str,
        key: str,
        now: datetime,
        status_code: int,
        response: dict[str, Any],
        *,
        renew: bool,
        signed_at: int | None = None,
    ) -> None:
        """Remember the answer to a delivery; ``renew`` takes over a key seen before the
        window (the row is still there until pruned)."""
        answer = {"status_code": status_code, "response": response, "signed_at": signed_at}
        if renew:
            params = {"_webhook_id": webhook_id, "_delivery_key": key, "created_at": now}
            self.work.write(_RENEW, {**params, **answer})
            return
        self.work.write(
            _RECORD, {"webhook_id": webhook_id, "delivery_key": key, "created_at": now, **answer}
        )

    def prune(
        self, before: datetime, *, bodies_before: datetime, at_most: int | None = None
    ) -> int:
        """Forget delivery ids older than the idempotency window, and body fingerprints
        older than the longest duplicate window (the oldest ``at_most`` of them, when
        given); returns how many."""
        expired = or_(
            _d.created_at < before,
            and_(_d.created_at < bodies_before, _d.delivery_key.startswith(BODY_CLAIM_PREFIX)),
        )
        if at_most is not None:
            oldest = select(_d.id).where(expired).order_by(_d.created_at).limit(at_most)
            expired = _d.id.in_(oldest.scalar_subquery())
        result = self.conn.execute(delete(DELIVERIES).where(expired))
        return int(result.rowcount)


class InboundLogRepository:
    """Writes wait for the end of the transaction when its work holds them."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def add(self, values: dict[str, Any]) -> None:
        self.work.write(_LOG, values)

    def outcome_counts(
        self, webhook_id: str, starts: dict[str, datetime]
    ) -> dict[str, dict[str, int]]:
        """Per period (by its label, from its start to now): deliveries by outcome, in one
        pass over the log's (webhook, status, created_at) index."""
        labels = list(starts)
        oldest = min(starts.values())
        rows = self.conn.execute(
            select(
                _log.status,
                *(
                    func.sum(case((_log.created_at >= starts[label], 1), else_=0))
                    for label in labels
                ),
            )
            .where(_log.webhook_id == webhook_id, _log.created_at >= oldest)
            .group_by(_log.status)
        )
        counts: dict[str, dict[str, int]] = {label: {} for label in labels}
        for status, *per_period in rows:
            for label, n in zip(labels, per_period, strict=True):
                counts[label][status] = int(n or 0)
        return counts

    def latest_times(self, webhook_id: str, since: datetime, at_most: int) -> list[float]:
        """The processing times of the latest ``at_most`` deliveries since ``since``."""
        rows = self.conn.execute(
            select(_log.processing_ms)
            .where(_log.webhook_id == webhook_id, _log.created_at >= since)
            .order_by(_log.created_at.desc())
            .limit(at_most)
        )
        return [float(ms) for (ms,) in rows]

    def claim_replay(
        self,
        webhook_id: str,
        original: uuid.UUID,
        claim: uuid.UUID,
        *,
        taking_over: uuid.UUID | None,
    ) -> bool:
        """Take a refused delivery for one replay, unless another took it first: of
        concurrent claims one changes the row, the others find it taken (PostgreSQL's row
        lock, SQLite's one writer). ``taking_over`` is the abandoned claim it replaces."""
        held = (
            _log.replayed_as.is_(None) if taking_over is None else _log.replayed_as == taking_over
        )
        result = self.conn.execute(
            update(INBOUND_LOG)
            .where(_log.id == original, _log.webhook_id == webhook_id, _log.status == "error", held)
            .values(replayed_as=claim)
        )
        return int(result.rowcount) == 1

    def release_replay(self, original: uuid.UUID, claim: uuid.UUID) -> None:
        """Give a claim back (its replay tried nothing); a replay logged meanwhile stays."""
        self.conn.execute(
            update(INBOUND_LOG)
            .where(_log.id == original, _log.replayed_as == claim)
            .values(replayed_as=None)
        )

    def replay_state(self, webhook_id: str, original: uuid.UUID) -> dict[str, Any] | None:
        """Who holds a refused delivery (``replayed_as``) and, once that replay is logged,
        its entry: when it happened and what it made."""
        replay = INBOUND_LOG.alias("replay")
        row = (
            self.conn.execute(
                select(
                    _log.replayed_as,
                    replay.c.id.label("replay_id"),
                    replay.c.created_at,
                    replay.c.request_id,
                    replay.c.status,
                    replay.c.http_status,
                    replay.c.lead_id,
                    replay.c.lead_action,
                )
                .select_from(INBOUND_LOG.outerjoin(replay, replay.c.id == _log.replayed_as))
                .where(_log.id == original, _log.webhook_id == webhook_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def mark_replayed(self, original: uuid.UUID, replay: uuid.UUID) -> None:
        """Point a refused delivery at the replay that took it (written after the replay's
        own row: updates follow inserts)."""
        self.work.write(_MARK_REPLAYED, {"_original": original, "replayed_as": replay})

    def page(
        self,
        webhook_id: str,
        *,
        status: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """A webhook's deliveries, newest first, without their bodies; and how many match."""
        conditions = [_log.webhook_id == webhook_id]
        if status is not None:
            conditions.append(_log.status == status)
        if created_from is not None:
            conditions.append(_log.created_at >= created_from)
        if created_to is not None:
            conditions.append(_log.created_at < created_to)
        rows = self.conn.execute(
            select(*_LISTED)
            .where(*conditions)
            .order_by(_log.created_at.desc(), _log.id.desc())
            .limit(limit)
            .offset(offset)
        ).mappings()
        total = self.conn.execute(
            select(func.count()).select_from(INBOUND_LOG).where(*conditions)
        ).scalar_one()
        return [dict(r) for r in rows], int(total)

    def oldest_before(self, workspace_id: str, before: datetime, at_most: int) -> list[Any]:
        """The ids of a workspace's oldest ``at_most`` deliveries logged before ``before``,
        read along the log's (workspace, created_at) index."""
        return list(
            self.conn.execute(
                select(_log.id)
                .where(_log.workspace_id == workspace_id, _log.created_at < before)
                .order_by(_log.created_at)
                .limit(at_most)
            ).scalars()
        )

    def prune(self, ids: list[Any]) -> int:
        """Delete these deliveries, keeping first which provider created which lead, so
        that a provider's leads still count; returns how many were deleted."""
        if not ids:
            return 0
        created = select(_log.provider_id, _log.lead_id, _log.workspace_id).where(
            _log.id.in_(ids), _CREATED_BY_A_PROVIDER
        )
        self.conn.execute(
            upsert(self.conn.dialect.name, PROVIDER_LEADS)
            .from_select(["provider_id", "lead_id", "workspace_id"], created)
            .on_conflict_do_nothing()
        )
        return int(self.conn.execute(delete(INBOUND_LOG).where(_log.id.in_(ids))).rowcount)

    def one(self, webhook_id: str, delivery_id: uuid.UUID) -> dict[str, Any] | None:
        """One delivery of the webhook, with its body and headers as they came."""
        row = (
            self.conn.execute(
                select(INBOUND_LOG).where(_log.webhook_id == webhook_id, _log.id == delivery_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None


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


# A person's deliveries (export and erasure): the columns that may hold what they sent.
PERSONAL_LOG_COLUMNS = ("raw_body", "request_headers", "error_message", "warnings", "user_agent")


class PersonLogRepository:
    """The intake log's entries that made or touched a contact or its leads, and the
    refused ones, which name no contact: read in pages, so that bodies of up to the body
    limit each are never all in memory at once."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def candidates(
        self,
        workspace_id: str,
        contact_id: uuid.UUID,
        lead_ids: Sequence[uuid.UUID],
        *,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """The next ``limit`` entries (by id) of the contact, its leads, or refused."""
        mine = or_(
            _log.contact_id == contact_id,
            _log.lead_id.in_(list(lead_ids)),
            _log.status == "error",
        )
        stmt = select(INBOUND_LOG).where(_log.workspace_id == workspace_id, mine)
        if after is not None:
            stmt = stmt.where(_log.id > after)
        rows = self.conn.execute(stmt.order_by(_log.id).limit(limit)).mappings()
        return [dict(r) for r in rows]

    def rewrite(self, log_id: uuid.UUID, values: dict[str, Any]) -> None:
        """Replace some of an entry's ``PERSONAL_LOG_COLUMNS``."""
        assert set(values) <= set(PERSONAL_LOG_COLUMNS)
        self.conn.execute(update(INBOUND_LOG).where(_log.id == log_id).values(**values))

    def answers_to(self, workspace_id: str, contact_id: uuid.UUID) -> list[dict[str, Any]]:
        """The answers kept for the duplicate window of deliveries that made or updated the
        contact (their warnings quote values as sent)."""
        hooks = select(_wh.id).where(_wh.workspace_id == workspace_id).scalar_subquery()
        rows = self.conn.execute(
            select(_d.id, _d.response).where(
                _d.webhook_id.in_(hooks), _d.response["contact_id"].as_string() == str(contact_id)
            )
        ).mappings()
        return [dict(r) for r in rows]

    def rewrite_answer(self, answer_id: uuid.UUID, response: dict[str, Any]) -> None:
        self.conn.execute(update(DELIVERIES).where(_d.id == answer_id).values(response=response))
