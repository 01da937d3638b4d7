"""The SQL of the delivery line: deliveries answered before (idempotency) and the intake
log, with what a person's export and erasure read of it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    case,
    column,
    delete,
    distinct,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from leadpipe.intake.rules.deliveries import BODY_CLAIM_PREFIX
from leadpipe.leads.rules import LeadAction
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import batches_lookups
from leadpipe.storage.dialect import insert as upsert
from leadpipe.storage.models import (
    InboundRequest,
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
        conditions = _log_conditions(webhook_id, status, created_from, created_to)
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

    def leads_touched(
        self,
        webhook_id: str,
        *,
        status: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> int:
        """How many leads the deliveries ``page`` lists created or updated, each once."""
        conditions = _log_conditions(webhook_id, status, created_from, created_to)
        found = self.conn.execute(
            select(func.count(distinct(_log.lead_id))).where(*conditions, _log.lead_id.is_not(None))
        ).scalar_one()
        return int(found)

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


def _log_conditions(
    webhook_id: str, status: str | None, created_from: datetime | None, created_to: datetime | None
) -> list[Any]:
    """A webhook's deliveries with this outcome, logged in this range (each bound optional)."""
    conditions = [_log.webhook_id == webhook_id]
    if status is not None:
        conditions.append(_log.status == status)
    if created_from is not None:
        conditions.append(_log.created_at >= created_from)
    if created_to is not None:
        conditions.append(_log.created_at < created_to)
    return conditions
