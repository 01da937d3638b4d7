"""The intake pipeline: a delivery becomes a deduplicated contact and a new or updated lead.

One transaction per delivery: contact, lead, timeline, stage history, webhook counters and
the intake log are written together or not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from leadpipe.activities import rules as activity_rules
from leadpipe.activities.repository import ActivityRepository
from leadpipe.contacts.repository import ContactRepository
from leadpipe.contacts.rules import MatchType, choose_match, identity_updates
from leadpipe.errors import (
    Conflict,
    Forbidden,
    LeadpipeError,
    NotFound,
    ValidationFailed,
    field_error,
)
from leadpipe.intake.repository import (
    DeliveryRepository,
    InboundLogRepository,
    WebhookContext,
    WebhookRepository,
)
from leadpipe.intake.rules import Submission, extract, validate
from leadpipe.intake.schemas import Delivery, IntakeResult
from leadpipe.kit.batching import Batcher
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads.repository import LeadRepository, stage_change
from leadpipe.leads.rules import (
    Decision,
    LeadAction,
    LeadSnapshot,
    Rule,
    decide,
    has_lead_data,
    product_key,
    stage_effects,
)
from leadpipe.pipeline.repository import StageInfo, default_stage
from leadpipe.pipeline.rules import WON, stage_for_status
from leadpipe.storage.engine import Database

log = logging.getLogger("leadpipe.intake")

# A concurrent writer can take an identity between our read and our write; the whole
# delivery is then retried, and the next attempt sees that writer's contact.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    id: uuid.UUID
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class LeadOutcome:
    id: uuid.UUID | None
    decision: Decision


class _Run:
    """One delivery being processed; remembers the webhook once resolved, for the log."""

    def __init__(
        self,
        delivery: Delivery,
        now: datetime,
        idempotency_days: int,
        contexts: dict[str, WebhookContext | None] | None = None,
    ) -> None:
        self.delivery = delivery
        self.now = now
        self.idempotency_days = idempotency_days
        self.webhook: WebhookContext | None = None
        # Webhook contexts already read in this transaction (deliveries committed together).
        self.contexts = {} if contexts is None else contexts


class IntakeService:
    def ingest(
        self,
        db: Database,
        delivery: Delivery,
        *,
        idempotency_days: int = 7,
        now: datetime | None = None,
    ) -> IntakeResult:
        """Process one delivery; ``now`` is only given by backfills such as the demo."""
        run = _Run(delivery, now or utcnow(), idempotency_days)
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    # Pipelined: the lead's writes, the log and the counters go out with
                    # the COMMIT in one round trip, so the webhook's counter row is locked
                    # only while the server runs them, not across trips to this process.
                    with db.transaction(pipelined=True) as conn:
                        return self._process(conn, run)
                except IntegrityError:
                    if attempt == MAX_ATTEMPTS:
                        raise _too_many_conflicts() from None
            raise AssertionError("unreachable")
        except Exception as exc:
            self._log_failure(db, run, exc)
            raise

    def ingest_together(
        self, db: Database, deliveries: list[Delivery], *, idempotency_days: int = 7
    ) -> list[IntakeResult | Exception]:
        """Process deliveries in one transaction (group commit), each in its own savepoint:
        one delivery's failure undoes only its own writes, and is logged in their place.

        On SQLite one commit costs as much as the rest of a delivery: the same index pages
        are written to the log once per batch instead of once per delivery. Nothing is
        acknowledged before the commit, so a failed commit fails every delivery in it.
        """
        contexts: dict[str, WebhookContext | None] = {}
        with db.transaction() as conn:
            return [
                self._in_savepoint(conn, _Run(d, utcnow(), idempotency_days, contexts))
                for d in deliveries
            ]

    def _in_savepoint(self, conn: Connection, run: _Run) -> IntakeResult | Exception:
        raw = conn.connection.driver_connection
        assert raw is not None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            raw.execute("SAVEPOINT delivery")
            try:
                result = self._process(conn, run)
            except Exception as exc:
                raw.execute("ROLLBACK TO delivery")
                raw.execute("RELEASE delivery")
                if isinstance(exc, IntegrityError) and attempt < MAX_ATTEMPTS:
                    continue
                failure = _too_many_conflicts() if isinstance(exc, IntegrityError) else exc
                self._log_refusal_in_savepoint(conn, run, failure)
                return failure
            raw.execute("RELEASE delivery")
            return result
        raise AssertionError("unreachable")

    def _log_refusal_in_savepoint(self, conn: Connection, run: _Run, exc: Exception) -> None:
        """Log a refused delivery of a group; if even that fails, the group's other
        deliveries must still commit, so the failure is only logged."""
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("SAVEPOINT refusal")
        try:
            self._log_error(conn, run, exc)
        except Exception:
            raw.execute("ROLLBACK TO refusal")
            log.exception("could not record a failed delivery in the intake log")
        raw.execute("RELEASE refusal")

    # -- steps -----------------------------------------------------------------------------

    def _process(self, conn: Connection, run: _Run) -> IntakeResult:
        d = run.delivery
        ctx = self._resolve_webhook(conn, run)
        run.webhook = ctx
        if d.problem is not None:
            raise d.problem
        assert d.payload is not None

        deliveries = DeliveryRepository(conn)
        if d.delivery_key is not None:
            stale_before = run.now - timedelta(days=run.idempotency_days)
            if not deliveries.claim(ctx.id, d.delivery_key, run.now, stale_before):
                return self._replay(conn, run, ctx)

        submission = self._validate(ctx, d.payload)
        contact = self._upsert_contact(conn, ctx, submission, run.now)
        lead = self._apply_lead(conn, ctx, submission, contact, d, run.now)

        body = self._response_body(ctx, contact, lead, d)
        WebhookRepository(conn).count_lead(ctx.id, run.now)
        self._log(
            conn,
            run,
            "success",
            200,
            contact_id=contact.id,
            lead_id=lead.id,
            match_type=contact.match_type.value,
            lead_action=lead.decision.action.value,
            decision_rule=lead.decision.rule.value,
        )
        if d.delivery_key is not None:
            deliveries.store_response(ctx.id, d.delivery_key, 200, body)
        return IntakeResult(200, body)

    @staticmethod
    def _resolve_webhook(conn: Connection, run: _Run) -> WebhookContext:
        d = run.delivery
        if d.webhook_id in run.contexts:
            ctx = run.contexts[d.webhook_id]
        else:
            ctx = run.contexts[d.webhook_id] = WebhookRepository(conn).context(d.webhook_id)
        if ctx is None or not ctx.is_active or not ctx.workspace_active:
            raise NotFound(f"Webhook '{d.webhook_id}' is not configured or is disabled")
        if d.workspace_header is not None and d.workspace_header != ctx.workspace_id:
            raise Forbidden("x-workspace-id does not match the webhook's workspace")
        return ctx

    def _replay(self, conn: Connection, run: _Run, ctx: WebhookContext) -> IntakeResult:
        d = run.delivery
        assert d.delivery_key is not None
        stored = DeliveryRepository(conn).stored_response(ctx.id, d.delivery_key)
        if stored is None:
            raise Conflict("This delivery is still being processed; retry shortly")
        status_code, body = stored
        self._log(
            conn,
            run,
            "duplicate",
            status_code,
            contact_id=_uuid_or_none(body.get("contact_id")),
            lead_id=_uuid_or_none(body.get("lead_id")),
        )
        return IntakeResult(status_code, body, replayed=True)

    @staticmethod
    def _validate(ctx: WebhookContext, payload: dict[str, Any]) -> Submission:
        extracted = extract(payload, ctx.field_mapping or {})
        submission, errors = validate(extracted, region=ctx.region, require_phone=ctx.require_phone)
        if submission is None:
            raise ValidationFailed("The lead payload is invalid", errors)
        return submission

    def _upsert_contact(
        self, conn: Connection, ctx: WebhookContext, sub: Submission, now: datetime
    ) -> ContactOutcome:
        contacts = ContactRepository(conn)
        scope = ctx.id if ctx.dedup_scope == "webhook" else ""
        for _ in range(MAX_ATTEMPTS):
            candidates = contacts.find_by_identity(ctx.workspace_id, scope, sub.identity)
            matched, match_type = choose_match(sub.identity, candidates)
            if matched is not None:
                values = {
                    **sub.contact,
                    **identity_updates(sub.identity, matched, candidates),
                    "updated_at": now,
                }
                if sub.source:
                    values["lead_source"] = sub.source
                if sub.sub_source:
                    values["sub_source"] = sub.sub_source
                contacts.update_fields(matched.id, values, sub.custom_fields)
                return ContactOutcome(matched.id, match_type)
            if not (sub.identity.phone or sub.identity.email):
                raise ValidationFailed(
                    "The lead payload is invalid",
                    [
                        field_error(
                            "phone_number",
                            f"phone_number or email is required (crm_id '{sub.identity.crm_id}' "
                            "matches no contact)",
                        )
                    ],
                )
            new_id = contacts.insert_if_new(self._new_contact(ctx, scope, sub, now))
            if new_id is not None:
                return ContactOutcome(new_id, MatchType.NEW)
            # A concurrent delivery created this person first: match it on the next pass.
        raise Conflict("The contact changed concurrently too often; retry")

    @staticmethod
    def _new_contact(
        ctx: WebhookContext, scope: str, sub: Submission, now: datetime
    ) -> dict[str, Any]:
        return {
            "id": uuid7(),
            "workspace_id": ctx.workspace_id,
            "identity_scope": scope,
            "crm_id": sub.identity.crm_id,
            "phone_number": sub.identity.phone,
            "email": sub.identity.email,
            **sub.contact,
            "lead_source": _source(ctx, sub),
            "sub_source": sub.sub_source,
            "webhook_id": ctx.id,
            "webhook_name": ctx.name,
            "custom_fields": sub.custom_fields,
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        }

    def _apply_lead(
        self,
        conn: Connection,
        ctx: WebhookContext,
        sub: Submission,
        contact: ContactOutcome,
        d: Delivery,
        now: datetime,
    ) -> LeadOutcome:
        if not (
            has_lead_data(status=sub.status, product=sub.product, notes=sub.notes)
            or ctx.always_create_lead
        ):
            return LeadOutcome(None, Decision(LeadAction.NONE, Rule.NO_LEAD_DATA))
        contact_id, is_new_contact = contact.id, contact.match_type is MatchType.NEW
        leads = LeadRepository(conn)
        stages = {s.slug: s for s in ctx.stages}
        # A contact created by this delivery has no leads yet: skip the query.
        existing = (
            None if is_new_contact else leads.newest_active(contact_id, product_key(sub.product))
        )
        decision = decide(existing, status=sub.status, now=now, window_days=ctx.window_days)
        mapped = stage_for_status(sub.status)
        target = stages.get(mapped) if mapped else None
        source = _source(ctx, sub)
        meta = {
            "webhook": {
                "id": ctx.id,
                "name": ctx.name,
                "source": source,
                "timestamp": now.isoformat(),
            },
            "decision": {
                "action": decision.action.value,
                "rule": decision.rule.value,
                "reason": decision.reason,
            },
        }
        if decision.action is LeadAction.UPDATE:
            assert existing is not None
            self._update_lead(conn, ctx, sub, existing, target, meta, now)
            return LeadOutcome(existing.id, decision)
        lead_id = self._create_lead(
            conn,
            ctx,
            sub,
            contact_id,
            target or default_stage(stages.values()),
            source,
            meta,
            d,
            now,
        )
        return LeadOutcome(lead_id, decision)

    def _create_lead(
        self,
        conn: Connection,
        ctx: WebhookContext,
        sub: Submission,
        contact_id: uuid.UUID,
        stage: StageInfo,
        source: str,
        meta: dict[str, Any],
        d: Delivery,
        now: datetime,
    ) -> uuid.UUID:
        lead_id = uuid7()
        values: dict[str, Any] = {
            "lead_type": ctx.lead_type,
            **sub.lead,
            "id": lead_id,
            "contact_id": contact_id,
            "workspace_id": ctx.workspace_id,
            "webhook_id": ctx.id,
            "lead_source": source,
            "sub_source": sub.sub_source,
            "product_interest": sub.product,
            "product_key": product_key(sub.product),
            **stage_effects(stage.slug, probability=stage.probability, now=now),
            "initial_inquiry": sub.notes,
            "raw_payload": d.payload,
            "ip_address": sub.ip_address or d.ip_address,
            "user_agent": sub.user_agent or d.user_agent,
            "last_activity_at": now,
            "metadata": meta,
            "created_at": now,
            "updated_at": now,
        }
        LeadRepository(conn).insert(values)
        LeadRepository(conn).add_status_change(_history(lead_id, ctx, None, stage.slug, meta, now))
        drafts = [activity_rules.lead_created(source)]
        drafts += self._appointment_and_conversion(sub, stage, converted_now=stage.slug == WON)
        ActivityRepository(conn).add_automated(lead_id, ctx.workspace_id, drafts, meta, now)
        return lead_id

    def _update_lead(
        self,
        conn: Connection,
        ctx: WebhookContext,
        sub: Submission,
        existing: LeadSnapshot,
        target: StageInfo | None,
        meta: dict[str, Any],
        now: datetime,
    ) -> None:
        source = meta["webhook"]["source"]
        values: dict[str, Any] = {"last_activity_at": now, "updated_at": now}
        values.update(
            {
                k: v
                for k, v in sub.lead.items()
                if k in ("estimated_value", "priority", "temperature")
            }
        )
        moved = target is not None and target.slug != existing.stage
        leads = LeadRepository(conn)
        if moved:
            assert target is not None
            values.update(stage_effects(target.slug, probability=target.probability, now=now))
            values["previous_stage"] = existing.stage
            leads.add_status_change(
                _history(existing.id, ctx, existing.stage, target.slug, meta, now)
            )
            drafts = [activity_rules.status_updated(existing.stage, target.slug, source)]
        else:
            drafts = [activity_rules.lead_updated(source)]
        leads.update(existing.id, values, meta)
        drafts += self._appointment_and_conversion(
            sub, target, converted_now=moved and target is not None and target.slug == WON
        )
        ActivityRepository(conn).add_automated(existing.id, ctx.workspace_id, drafts, meta, now)

    @staticmethod
    def _appointment_and_conversion(
        sub: Submission, stage: StageInfo | None, *, converted_now: bool
    ) -> list[activity_rules.ActivityDraft]:
        drafts = []
        if sub.appointment is not None:
            a = sub.appointment
            drafts.append(
                activity_rules.appointment_scheduled(
                    a.title,
                    {
                        "appointment_date": a.date,
                        "appointment_time": a.time,
                        "appointment_status": a.status,
                    },
                )
            )
        if converted_now and stage is not None:
            drafts.append(activity_rules.lead_converted(stage.name))
        return drafts

    @staticmethod
    def _response_body(
        ctx: WebhookContext, contact: ContactOutcome, lead: LeadOutcome, d: Delivery
    ) -> dict[str, Any]:
        return {
            "success": True,
            "message": _message(contact.match_type, lead.decision.action),
            "webhook_id": ctx.id,
            "contact_id": str(contact.id),
            "lead_id": str(lead.id) if lead.id else None,
            "is_new_contact": contact.match_type is MatchType.NEW,
            "match_type": contact.match_type.value,
            "lead_action": lead.decision.action.value,
            "decision": {"rule": lead.decision.rule.value, "reason": lead.decision.reason},
            "processing_time": f"{_elapsed_ms(d):.0f}ms",
            "request_id": d.request_id,
        }

    # -- the intake log --------------------------------------------------------------------

    def _log(
        self, conn: Connection, run: _Run, status: str, http_status: int, **fields: Any
    ) -> None:
        d, ctx = run.delivery, run.webhook
        assert ctx is not None
        InboundLogRepository(conn).add(
            {
                "id": uuid7(),
                "workspace_id": ctx.workspace_id,
                "webhook_id": ctx.id,
                "request_id": d.request_id,
                "status": status,
                "http_status": http_status,
                "delivery_key": d.delivery_key,
                "processing_ms": round(_elapsed_ms(d), 3),
                "content_type": d.content_type,
                "ip_address": d.ip_address,
                "user_agent": d.user_agent,
                "created_at": run.now,
                **fields,
            }
        )

    def _log_failure(self, db: Database, run: _Run, exc: Exception) -> None:
        """Record a refused delivery in its own transaction (the delivery's was rolled back).
        A failure to log must not hide the error being reported, so it is only logged."""
        try:
            with db.transaction() as conn:
                self._log_error(conn, run, exc)
        except Exception:
            log.exception("could not record a failed delivery in the intake log")

    def _log_error(self, conn: Connection, run: _Run, exc: Exception) -> None:
        """Deliveries to unknown webhooks are not logged: there is no workspace to log to."""
        if run.webhook is not None:
            self._log(conn, run, "error", **_failure_fields(exc))


def _too_many_conflicts() -> Conflict:
    return Conflict("The lead conflicts with a concurrent change; retry")


def _failure_fields(exc: Exception) -> dict[str, Any]:
    """How a refused delivery appears in the intake log."""
    if isinstance(exc, LeadpipeError):
        details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.details)
        message = f"{exc.message}: {details}" if details else exc.message
        status, code = exc.status_code, exc.code
    else:
        status, code, message = 500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"
    return {"http_status": status, "error_code": code, "error_message": message[:2000]}


def _source(ctx: WebhookContext, sub: Submission) -> str:
    """Where a lead came from: the payload's source, else the webhook's default or name."""
    return sub.source or ctx.default_source or ctx.name


def _history(
    lead_id: uuid.UUID,
    ctx: WebhookContext,
    old: str | None,
    new: str,
    meta: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return stage_change(
        lead_id,
        ctx.workspace_id,
        old,
        new,
        by=f"webhook:{ctx.id}",
        by_name=ctx.name,
        reason=meta["decision"]["reason"],
        metadata=meta,
        now=now,
    )


def _message(match: MatchType, action: LeadAction) -> str:
    if match is MatchType.NEW:
        return {
            LeadAction.CREATE: "Contact and lead created successfully",
            LeadAction.UPDATE: "Contact created and lead updated successfully",
            LeadAction.NONE: "Contact created successfully",
        }[action]
    lead_part = {
        LeadAction.CREATE: "; new lead created",
        LeadAction.UPDATE: "; lead updated",
        LeadAction.NONE: "",
    }[action]
    return f"Contact updated via {match.value} match{lead_part}"


def _elapsed_ms(d: Delivery) -> float:
    return (time.perf_counter() - d.started) * 1000


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


intake = IntakeService()


def forget_expired_deliveries(
    db: Database, *, idempotency_days: int, chunk: int = 1000, now: datetime | None = None
) -> int:
    """Delete delivery ids past the idempotency window, ``chunk`` per transaction so that
    no transaction holds SQLite's write lock for long; returns how many."""
    before = (now or utcnow()) - timedelta(days=idempotency_days)
    forgotten = 0
    while True:
        with db.transaction() as conn:
            deleted = DeliveryRepository(conn).prune(before, at_most=chunk)
        forgotten += deleted
        if deleted < chunk:
            return forgotten


async def forget_expired_deliveries_periodically(
    db: Database, *, idempotency_days: int, every_seconds: float = 3600
) -> None:
    """Run ``forget_expired_deliveries`` on a thread every hour, until cancelled: a server
    that runs for months would otherwise keep every delivery id until its next start."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await asyncio.to_thread(
                forget_expired_deliveries, db, idempotency_days=idempotency_days
            )
        except Exception:  # a failed sweep must not end the sweeping: the next one retries
            log.exception("could not forget expired delivery ids")


class IntakeLine:
    """How the webhook endpoint hands deliveries to the database.

    On SQLite, deliveries that arrive together share one transaction (``ingest_together``,
    group commit) on the event loop: SQLite has one writer anyway. On PostgreSQL, whose
    writers run in parallel, each delivery has its own transaction on the thread pool.
    """

    def __init__(self, db: Database, *, idempotency_days: int) -> None:
        self.db = db
        self.idempotency_days = idempotency_days
        self._batcher: Batcher[Delivery, IntakeResult] | None = (
            Batcher(self._together) if db.dialect == "sqlite" else None
        )

    async def submit(self, delivery: Delivery) -> IntakeResult:
        if self._batcher is not None:
            return await self._batcher.submit(delivery)
        return await self.db.run(
            intake.ingest, self.db, delivery, idempotency_days=self.idempotency_days
        )

    def _together(self, deliveries: list[Delivery]) -> list[IntakeResult | Exception]:
        return intake.ingest_together(self.db, deliveries, idempotency_days=self.idempotency_days)
