"""The intake pipeline: a delivery becomes a deduplicated contact and a new or updated lead.

Deliveries that arrive together share one transaction (``IntakeService.ingest_together``);
a delivery's contact, lead, timeline, stage history, webhook counter and intake log entry
are written together with it or not at all.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from leadpipe.activities import rules as activity_rules
from leadpipe.activities.rules import ActivityDraft
from leadpipe.contacts.repository import ContactRepository
from leadpipe.contacts.rules import ContactIdentity, MatchType, choose_match, identity_updates
from leadpipe.errors import (
    Conflict,
    Forbidden,
    LeadpipeError,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
    field_error,
)
from leadpipe.intake.parsing import redacted_headers
from leadpipe.intake.repository import (
    Answered,
    DeliveryRepository,
    InboundLogRepository,
    WebhookContext,
    WebhookRepository,
)
from leadpipe.intake.rules import (
    MAX_DUPLICATE_WINDOW,
    Claim,
    Submission,
    delivery_claim,
    extract,
    retry_after_when_queue_full,
    validate,
)
from leadpipe.intake.schemas import Delivery, IntakeResult
from leadpipe.kit.batching import Batcher
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.kit.periodic import repeat_on_thread
from leadpipe.leads.repository import LeadRepository
from leadpipe.leads.rules import (
    Actor,
    Decision,
    LeadAction,
    LeadSnapshot,
    Rule,
    decide,
    has_lead_data,
    plan_move,
    plan_open,
    product_key,
)
from leadpipe.leads.service import LeadWrites, lead
from leadpipe.pipeline.rules import StageInfo, default_stage, stage_for_status
from leadpipe.storage.engine import CommitOutcomeUnknown, Database, sent_together
from leadpipe.storage.writebehind import WriteBehind

log = logging.getLogger("leadpipe.intake")

# A concurrent writer can take an identity between our read and our write; the whole
# delivery is then retried, and the next attempt sees that writer's contact.
MAX_ATTEMPTS = 3
# Webhook contexts kept in memory per process (a few KB each); beyond that, forgotten.
MAX_KNOWN_CONTEXTS = 10_000


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    id: uuid.UUID
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class _ContactMatch:
    """What the contact lookup found for a submission, before anything is written."""

    candidates: list[ContactIdentity]
    matched: ContactIdentity | None
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class LeadOutcome:
    id: uuid.UUID | None
    decision: Decision


class _Batch:
    """Deliveries processed in one transaction, and the writes they leave for its end.

    A delivery's lead, stage history, timeline, log entry and counter wait in ``later``
    and go out together at the end (``IntakeService._finish``). No other delivery of the
    batch needs to read them: deliveries that share a contact or an identity never share
    a batch (``IntakeService._in_transaction``).
    """

    def __init__(self, conn: Connection, *, optimistic: bool) -> None:
        self.conn = conn
        # Whether new contacts are inserted without waiting for the database's answer:
        # batches do that (one round trip less per new person), and are undone whole on
        # a conflict; the deliveries processed one by one after that do not.
        self.optimistic = optimistic
        self.later = WriteBehind(conn)
        self.contexts: dict[str, WebhookContext | None] = {}
        # Webhooks whose context the batch took from memory, and their reads from the
        # database, still on their way (``IntakeService._confirm_contexts``).
        self.unconfirmed: dict[str, Callable[[], WebhookContext | None]] = {}
        self.lead_workspaces: set[str] = set()  # where the batch writes leads
        self.leads_counted: dict[str, tuple[int, datetime]] = {}  # per webhook: how many, last

    def count_lead(self, webhook_id: str, now: datetime) -> None:
        counted, last = self.leads_counted.get(webhook_id, (0, now))
        self.leads_counted[webhook_id] = (counted + 1, max(last, now))

    def note_lead_write(self, workspace_id: str) -> None:
        self.lead_workspaces.add(workspace_id)


class _Run:
    """One delivery being processed; remembers the webhook once resolved, for the log."""

    def __init__(self, delivery: Delivery, now: datetime, idempotency_days: int) -> None:
        self.delivery = delivery
        self.now = now
        self.idempotency_days = idempotency_days
        self.webhook: WebhookContext | None = None
        # Set before the delivery's first write: a refusal after it cannot be undone
        # without undoing its whole transaction.
        self.wrote = False


@dataclass(slots=True)
class _Checked:
    """A delivery whose webhook and payload passed, and the contact it is, if any: all
    read, nothing written yet."""

    run: _Run
    ctx: WebhookContext
    submission: Submission
    scope: str  # the dedup scope: "" (the workspace) or the webhook's id
    claim: Claim | None  # what makes it the same delivery as an earlier one
    match: _ContactMatch | None = None
    earlier: Answered | None = None  # the answer to the earlier one: this is a duplicate
    key_seen_before: bool = False  # its key was used before the window, and is taken over

    def identity_keys(self) -> set[tuple[str, ...]]:
        identity = self.submission.identity
        held = (("crm_id", identity.crm_id), ("phone", identity.phone), ("email", identity.email))
        keys: set[tuple[str, ...]] = {
            (self.ctx.workspace_id, self.scope, kind, v) for kind, v in held if v
        }
        if self.claim is not None:  # the second of two alike waits to be seen as a duplicate
            keys.add((self.ctx.id, "claim", self.claim.key))
        return keys

    def lock_order(self) -> tuple[str, ...]:
        """Batches write their contacts in one global order (existing contacts by id, then
        new ones by identity), so two batches never wait for each other's rows in a cycle."""
        if self.match is not None and self.match.matched is not None:
            return ("0", str(self.match.matched.id))
        identity = self.submission.identity
        return ("1", identity.phone or "", identity.email or "", identity.crm_id or "")


class IntakeService:
    def __init__(self) -> None:
        # The context of each webhook as this process last read it. A batch checks its
        # deliveries against it while the database's current one travels with the contact
        # lookup, in the same round trip; the batch starts over if the two differ.
        self._known_contexts: dict[str, WebhookContext] = {}

    def ingest(
        self,
        db: Database,
        delivery: Delivery,
        *,
        idempotency_days: int = 7,
        now: datetime | None = None,
    ) -> IntakeResult:
        """Process one delivery in its own transaction; ``now`` is only given by backfills
        such as the demo."""
        run = _Run(delivery, now or utcnow(), idempotency_days)
        try:
            outcome = self._alone_with_retries(db, run)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        except ServiceUnavailable:
            raise  # nothing to log it into
        except Exception as exc:
            self._log_failure(db, run, exc)
            raise

    def _alone_with_retries(self, db: Database, run: _Run) -> IntakeResult | Exception:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                # Pipelined: the held-back writes go out with the COMMIT in one round trip,
                # so the rows they lock (the webhook's counter, lead_counts) are locked only
                # while the server runs them.
                done = db.committed_work(
                    functools.partial(
                        self._in_transaction, runs=[run], log_refusals=False, optimistic=False
                    )
                )
                return done[0]
            except IntegrityError:
                if attempt == MAX_ATTEMPTS:
                    raise _too_many_conflicts() from None
        raise AssertionError("unreachable")

    def ingest_together(
        self, db: Database, deliveries: list[Delivery], *, idempotency_days: int = 7
    ) -> list[IntakeResult | Exception]:
        """Process deliveries that arrived together in as few transactions as possible
        (group commit); each still succeeds or fails on its own.

        A refusal before a delivery's first write (an unknown webhook, an invalid payload)
        is logged in the batch, and the batch goes on. Anything else that fails, such as a
        write the database refuses, undoes the whole batch, whose deliveries are then
        processed one by one, each in its own transaction. Nothing is acknowledged before
        its commit. A batch whose COMMIT's answer was lost with the connection is looked
        up, not done again (``Database.committed_work``).
        """
        outcomes: list[IntakeResult | Exception] = []
        while len(outcomes) < len(deliveries):
            waiting = deliveries[len(outcomes) :]
            runs = [_Run(d, utcnow(), idempotency_days) for d in waiting]
            try:
                done = db.committed_work(
                    functools.partial(
                        self._in_transaction, runs=runs, log_refusals=True, optimistic=True
                    )
                )
            except CommitOutcomeUnknown as exc:
                # Done again, the batch might be stored twice: its providers retry instead.
                outcomes += [exc] * len(waiting)
                continue
            except Exception as exc:
                # A conflict is expected now and then: another worker created one of the
                # batch's new people first; an unavailable database is warned about where
                # it is found. Anything else deserves a look.
                expected = isinstance(exc, IntegrityError | ServiceUnavailable)
                log.log(
                    logging.INFO if expected else logging.WARNING,
                    "a batch of %d deliveries failed (%s: %s); processing them one by one",
                    len(waiting),
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                )
                done = [self._alone(db, d, idempotency_days) for d in waiting]
            outcomes += done
        return outcomes

    def _alone(
        self, db: Database, delivery: Delivery, idempotency_days: int
    ) -> IntakeResult | Exception:
        try:
            return self.ingest(db, delivery, idempotency_days=idempotency_days)
        except Exception as exc:  # the delivery's own request answers with it
            return exc

    def _in_transaction(
        self, conn: Connection, runs: list[_Run], *, log_refusals: bool, optimistic: bool
    ) -> list[IntakeResult | Exception]:
        """Process the longest run of ``runs`` that fits one transaction; the outcome of
        each, in order (a refusal as its exception).

        First everything is read: webhooks, payloads, then the contacts of all deliveries
        in one query, then their leads in another. A webhook this process has seen before
        is taken from memory and confirmed by the round trip of the contact lookup. A
        delivery that shares a contact or an identity with an earlier one ends the batch
        there, so that no delivery needs to see another's held-back writes. Then the
        deliveries write, in the contacts' global lock order.
        """
        batch = _Batch(conn, optimistic=optimistic)
        outcomes, ready, end = self._read(batch, runs)
        while not self._confirm_contexts(batch):
            outcomes, ready, end = self._read(batch, runs)

        ready.sort(key=lambda entry: entry[1].lock_order())
        self._find_earlier(batch, [item for _, item in ready])
        leads_known = self._newest_leads(batch, [item for _, item in ready])
        for i, item in ready:
            try:
                outcomes[i] = self._write(item, batch, leads_known)
            except LeadpipeError as exc:
                if item.run.wrote:
                    raise
                outcomes[i] = exc
        done = [outcomes[i] for i in range(end)]  # the rest are checked again in the next
        if log_refusals:
            for run, outcome in zip(runs[:end], done, strict=True):
                if isinstance(outcome, Exception):
                    self._log_error(run, batch, outcome)
        self._finish(batch)
        return done

    def _read(
        self, batch: _Batch, runs: list[_Run]
    ) -> tuple[dict[int, IntakeResult | Exception], list[tuple[int, _Checked]], int]:
        """Check the deliveries and find their contacts, writing nothing: the refusals by
        position, the deliveries ready to write, and where the batch ends."""
        outcomes: dict[int, IntakeResult | Exception] = {}
        checked: list[tuple[int, _Checked]] = []
        for i, run in enumerate(runs):
            try:
                checked.append((i, self._check(run, batch)))
            except LeadpipeError as exc:
                outcomes[i] = exc

        end = len(runs)
        taken: set[Any] = set()
        ready: list[tuple[int, _Checked]] = []
        for (i, item), candidates in zip(checked, self._find_contacts(batch, checked), strict=True):
            keys = item.identity_keys() | {c.id for c in candidates}
            if not keys.isdisjoint(taken):
                end = i
                break
            taken |= keys
            try:
                item.match = self._match(item, candidates)
                ready.append((i, item))
            except LeadpipeError as exc:
                outcomes[i] = exc
        return outcomes, ready, end

    def _confirm_contexts(self, batch: _Batch) -> bool:
        """Whether the webhook contexts the batch took from memory are still current. If
        not, the batch now holds the current ones and must be read again."""
        current = True
        for webhook_id, read in batch.unconfirmed.items():
            ctx = read()
            self._remember(webhook_id, ctx)
            if ctx != batch.contexts[webhook_id]:
                batch.contexts[webhook_id] = ctx
                current = False
        batch.unconfirmed.clear()
        return current

    def _remember(self, webhook_id: str, ctx: WebhookContext | None) -> None:
        if ctx is None:  # unknown webhooks are not kept: anyone can make up their ids
            self._known_contexts.pop(webhook_id, None)
            return
        if len(self._known_contexts) >= MAX_KNOWN_CONTEXTS:
            self._known_contexts.clear()
        self._known_contexts[webhook_id] = ctx

    def _finish(self, batch: _Batch) -> None:
        """Send the writes held back: rows in dependency order, then the webhook counters.

        A batch that writes leads first takes its workspaces' count-writer lock: its lead
        statements lock ``lead_counts`` rows in no global order, and so may a concurrent
        batch's or API request's. The counters go last, so that batches of one webhook
        hold its row only while they commit."""
        leads = LeadRepository(batch.conn)
        with sent_together(batch.conn):  # nothing here awaits an answer
            for workspace_id in sorted(batch.lead_workspaces):
                leads.serialize_count_writers(workspace_id)
            batch.later.flush()
            webhooks = WebhookRepository(batch.conn)
            for webhook_id, (counted, last_at) in sorted(batch.leads_counted.items()):
                webhooks.count_leads(webhook_id, counted, last_at)

    # -- steps -----------------------------------------------------------------------------

    def _check(self, run: _Run, batch: _Batch) -> _Checked:
        d = run.delivery
        run.wrote = False
        ctx = self._resolve_webhook(run, batch)
        if d.problem is not None:
            raise d.problem
        assert d.payload is not None
        submission = self._validate(ctx, d.payload)
        scope = ctx.id if ctx.dedup_scope == "webhook" else ""
        claim = delivery_claim(
            d.delivery_key,
            d.body,
            now=run.now,
            idempotency_days=run.idempotency_days,
            duplicate_window_minutes=ctx.duplicate_window_minutes,
        )
        return _Checked(run, ctx, submission, scope, claim)

    @staticmethod
    def _find_contacts(
        batch: _Batch, checked: list[tuple[int, _Checked]]
    ) -> list[list[ContactIdentity]]:
        """The contacts holding each delivery's identities: one query per dedup scope."""
        scopes: dict[tuple[str, str], list[int]] = {}
        for n, (_, item) in enumerate(checked):
            scopes.setdefault((item.ctx.workspace_id, item.scope), []).append(n)
        found: list[list[ContactIdentity]] = [[] for _ in checked]
        contacts = ContactRepository(batch.conn)
        for (workspace_id, scope), members in scopes.items():
            identities = [checked[n][1].submission.identity for n in members]
            for n, candidates in zip(
                members,
                contacts.find_by_identities(workspace_id, scope, identities),
                strict=True,
            ):
                found[n] = candidates
        return found

    @staticmethod
    def _match(item: _Checked, candidates: list[ContactIdentity]) -> _ContactMatch:
        identity = item.submission.identity
        matched, match_type = choose_match(identity, candidates)
        if matched is None and not (identity.phone or identity.email):
            raise ValidationFailed(
                "The lead payload is invalid",
                [
                    field_error(
                        "phone_number",
                        f"phone_number or email is required (crm_id '{identity.crm_id}' "
                        "matches no contact)",
                    )
                ],
            )
        return _ContactMatch(candidates, matched, match_type)

    @staticmethod
    def _find_earlier(batch: _Batch, items: list[_Checked]) -> None:
        """Find the deliveries answered before that these are the same as (a provider's
        retry, a double submit): one query. A concurrent one still being written is not
        seen; the unique key makes this batch fail when it writes the same key, and its
        deliveries are then done again one by one, when they see the first's answer."""
        claiming = [(item, item.claim) for item in items if item.claim is not None]
        if not claiming:
            return
        found = DeliveryRepository(batch.conn).earlier(
            [(item.ctx.id, claim.key) for item, claim in claiming]
        )
        for item, claim in claiming:
            answered = found.get((item.ctx.id, claim.key))
            if answered is None:
                continue
            if answered.at >= claim.since:
                item.earlier = answered
            else:
                item.key_seen_before = True

    @staticmethod
    def _newest_leads(
        batch: _Batch, items: list[_Checked]
    ) -> dict[tuple[uuid.UUID, str | None], LeadSnapshot | None]:
        """The lead each delivery for a known contact might update: one query."""
        keys = [
            (item.match.matched.id, _lead_key(item.submission))
            for item in items
            if item.match is not None
            and item.match.matched is not None
            and _wants_lead(item.ctx, item.submission)
        ]
        return LeadRepository(batch.conn).newest_active_many(keys) if keys else {}

    def _write(
        self,
        item: _Checked,
        batch: _Batch,
        leads_known: dict[tuple[uuid.UUID, str | None], LeadSnapshot | None],
    ) -> IntakeResult:
        run, ctx, submission = item.run, item.ctx, item.submission
        assert item.match is not None
        d = run.delivery
        if item.earlier is not None:
            return self._replay(run, batch, item.earlier)
        run.wrote = True
        contact = self._write_contact(batch, item, run.now)
        lead = self._apply_lead(batch, ctx, submission, contact, d, run.now, leads_known)

        body = self._response_body(ctx, contact, lead, d, submission.warnings)
        batch.count_lead(ctx.id, run.now)
        self._log(
            run,
            batch,
            "success",
            200,
            contact_id=contact.id,
            lead_id=lead.id,
            match_type=contact.match_type.value,
            lead_action=lead.decision.action.value,
            decision_rule=lead.decision.rule.value,
            warnings=list(submission.warnings) or None,
        )
        if item.claim is not None:
            DeliveryRepository(batch.conn, batch.later).record(
                ctx.id, item.claim.key, run.now, 200, body, renew=item.key_seen_before
            )
        return IntakeResult(200, body)

    def _resolve_webhook(self, run: _Run, batch: _Batch) -> WebhookContext:
        d = run.delivery
        if d.webhook_id in batch.contexts:
            ctx = batch.contexts[d.webhook_id]
        else:
            ctx = batch.contexts[d.webhook_id] = self._context(batch, d.webhook_id)
        run.webhook = ctx  # known from here: any refusal is kept in its delivery log
        if ctx is None or not ctx.is_active or not ctx.workspace_active:
            raise NotFound(f"Webhook '{d.webhook_id}' is not configured or is disabled")
        if d.workspace_header is not None and d.workspace_header != ctx.workspace_id:
            raise Forbidden("x-workspace-id does not match the webhook's workspace")
        return ctx

    def _context(self, batch: _Batch, webhook_id: str) -> WebhookContext | None:
        """The webhook's context as last read, to be confirmed (``_confirm_contexts``), or
        read now when this process has not seen the webhook yet."""
        webhooks = WebhookRepository(batch.conn)
        known = self._known_contexts.get(webhook_id)
        if known is not None:
            batch.unconfirmed[webhook_id] = webhooks.context_later(webhook_id)
            return known
        ctx = webhooks.context(webhook_id)
        self._remember(webhook_id, ctx)
        return ctx

    def _replay(self, run: _Run, batch: _Batch, earlier: Answered) -> IntakeResult:
        if earlier.response is None or earlier.status_code is None:
            # Kept by an older leadpipe while it processed the delivery.
            raise Conflict("This delivery is still being processed; retry shortly")
        status_code, body = earlier.status_code, earlier.response
        self._log(
            run,
            batch,
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

    def _write_contact(self, batch: _Batch, item: _Checked, now: datetime) -> ContactOutcome:
        ctx, sub, match = item.ctx, item.submission, item.match
        contacts = ContactRepository(batch.conn)
        for _ in range(MAX_ATTEMPTS):
            assert match is not None
            if match.matched is not None:
                values = {
                    **sub.contact,
                    **identity_updates(sub.identity, match.matched, match.candidates),
                    "updated_at": now,
                }
                if sub.source:
                    values["lead_source"] = sub.source
                if sub.sub_source:
                    values["sub_source"] = sub.sub_source
                contacts.update_fields(match.matched.id, values, sub.custom_fields)
                return ContactOutcome(match.matched.id, match.match_type)
            contact_id = uuid7()
            values = self._new_contact(contact_id, ctx, item.scope, sub, now)
            if batch.optimistic:
                # Held back with the batch's other inserts, unanswered: a concurrent
                # delivery that created this person first makes the insert fail, and with
                # it the batch, whose deliveries are then processed one by one (the branch
                # below). Nothing in the batch reads the new contact back.
                ContactRepository(batch.conn, batch.later).insert(values)
                return ContactOutcome(contact_id, MatchType.NEW)
            new_id = contacts.insert_if_new(values)
            if new_id is not None:
                return ContactOutcome(new_id, MatchType.NEW)
            # A concurrent delivery created this person first: match it on the next pass.
            candidates = contacts.find_by_identity(ctx.workspace_id, item.scope, sub.identity)
            match = self._match(item, candidates)
        raise Conflict("The contact changed concurrently too often; retry")

    @staticmethod
    def _new_contact(
        contact_id: uuid.UUID, ctx: WebhookContext, scope: str, sub: Submission, now: datetime
    ) -> dict[str, Any]:
        return {
            "id": contact_id,
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
        batch: _Batch,
        ctx: WebhookContext,
        sub: Submission,
        contact: ContactOutcome,
        d: Delivery,
        now: datetime,
        leads_known: dict[tuple[uuid.UUID, str | None], LeadSnapshot | None],
    ) -> LeadOutcome:
        if not _wants_lead(ctx, sub):
            return LeadOutcome(None, Decision(LeadAction.NONE, Rule.NO_LEAD_DATA))
        key = (contact.id, _lead_key(sub))
        if contact.match_type is MatchType.NEW:
            existing = None  # a contact created by this delivery has no leads yet
        elif key in leads_known:
            existing = leads_known[key]
        else:  # matched only on a second try, after a concurrent delivery created it
            existing = LeadRepository(batch.conn).newest_active_many([key])[key]
        decision = decide(
            existing,
            status=sub.status,
            now=now,
            window_days=ctx.window_days,
            product_named=sub.product is not None,
        )
        if decision.action is LeadAction.NONE:
            return LeadOutcome(None, decision)
        stages = {s.slug: s for s in ctx.stages}
        mapped = stage_for_status(sub.status)
        target = stages.get(mapped) if mapped else None
        source = _source(ctx, sub)
        actor = Actor(
            f"webhook:{ctx.id}",
            ctx.name,
            {
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
            },
        )
        batch.note_lead_write(ctx.workspace_id)
        writes = LeadWrites(batch.conn, batch.later)
        also = _appointment(sub)
        if decision.action is LeadAction.UPDATE:
            assert existing is not None
            self._update_lead(writes, ctx, sub, existing, target, actor, decision, now, also)
            return LeadOutcome(existing.id, decision)
        lead_id = uuid7()
        lead.open(
            writes,
            lead_id=lead_id,
            workspace_id=ctx.workspace_id,
            row={
                "lead_type": ctx.lead_type,
                **sub.lead,
                "contact_id": contact.id,
                "webhook_id": ctx.id,
                "lead_source": source,
                "sub_source": sub.sub_source,
                "product_interest": sub.product,
                "product_key": product_key(sub.product),
                "initial_inquiry": sub.notes,
                "raw_payload": d.payload,
                "ip_address": sub.ip_address or d.ip_address,
                "user_agent": sub.user_agent or d.user_agent,
                "metadata": actor.metadata,
            },
            plan=plan_open(
                target or default_stage(stages.values()),
                actor=actor,
                reason=decision.reason,
                source=source,
                now=now,
            ),
            actor=actor,
            now=now,
            also=also,
        )
        return LeadOutcome(lead_id, decision)

    @staticmethod
    def _update_lead(
        writes: LeadWrites,
        ctx: WebhookContext,
        sub: Submission,
        existing: LeadSnapshot,
        target: StageInfo | None,
        actor: Actor,
        decision: Decision,
        now: datetime,
        also: list[ActivityDraft],
    ) -> None:
        values: dict[str, Any] = {"last_activity_at": now, "updated_at": now}
        values.update(
            {
                k: v
                for k, v in sub.lead.items()
                if k in ("estimated_value", "priority", "temperature")
            }
        )
        source = actor.metadata["webhook"]["source"]
        if target is None or target.slug == existing.stage:
            writes.leads.update(existing.id, values, actor.metadata)
            writes.activities.add_automated(
                existing.id,
                ctx.workspace_id,
                [activity_rules.lead_updated(source), *also],
                actor.metadata,
                now,
            )
            return
        lead.move(
            writes,
            lead_id=existing.id,
            workspace_id=ctx.workspace_id,
            plan=plan_move(
                existing.stage,
                target,
                actor=actor,
                reason=decision.reason,
                source=source,
                now=now,
                lost_reason=sub.lost_reason,
            ),
            actor=actor,
            now=now,
            values=values,
            metadata_patch=actor.metadata,
            also=also,
            waits_for_count_writers=False,  # the batch takes its turn before it writes
        )

    @staticmethod
    def _response_body(
        ctx: WebhookContext,
        contact: ContactOutcome,
        lead: LeadOutcome,
        d: Delivery,
        warnings: tuple[dict[str, Any], ...],
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
            "warnings": list(warnings),
            "processing_time": f"{_elapsed_ms(d):.0f}ms",
            "request_id": d.request_id,
        }

    # -- the intake log --------------------------------------------------------------------

    def _log(self, run: _Run, batch: _Batch, status: str, http_status: int, **fields: Any) -> None:
        d, ctx = run.delivery, run.webhook
        assert ctx is not None
        log_id = uuid7()
        intake_log = InboundLogRepository(batch.conn, batch.later)
        intake_log.add(
            {
                "id": log_id,
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
                "replay_of": d.replay_of,
                "created_at": run.now,
                **fields,
            }
        )
        if d.replay_of is not None:
            intake_log.mark_replayed(d.replay_of, log_id)

    def _log_failure(self, db: Database, run: _Run, exc: Exception) -> None:
        """Record a refused delivery in its own transaction (the delivery's was rolled back).
        A failure to log must not hide the error being reported, so it is only logged."""
        try:
            with db.transaction() as conn:
                batch = _Batch(conn, optimistic=False)
                self._log_error(run, batch, exc)
                batch.later.flush()
        except Exception:
            log.exception("could not record a failed delivery in the intake log")

    def _log_error(self, run: _Run, batch: _Batch, exc: Exception) -> None:
        """Deliveries to unknown webhooks are not logged: there is no workspace to log to."""
        if run.webhook is not None:
            d = run.delivery
            self._log(
                run,
                batch,
                "error",
                raw_body=d.body,
                request_headers=redacted_headers(d.headers) if d.headers is not None else None,
                **_failure_fields(exc),
            )


def _wants_lead(ctx: WebhookContext, sub: Submission) -> bool:
    """Whether the delivery opens or updates a lead, not only its contact."""
    return (
        has_lead_data(status=sub.status, product=sub.product, notes=sub.notes)
        or ctx.always_create_lead
    )


def _appointment(sub: Submission) -> list[ActivityDraft]:
    """The appointment a delivery books, as a timeline entry of its lead."""
    a = sub.appointment
    if a is None:
        return []
    data = {"appointment_date": a.date, "appointment_time": a.time, "appointment_status": a.status}
    return [activity_rules.appointment_scheduled(a.title, data)]


def _lead_key(sub: Submission) -> str | None:
    """Which of the contact's leads a delivery may update: the newest active one of its
    product, or of any product when it names none (None)."""
    return product_key(sub.product) if sub.product is not None else None


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
    now = now or utcnow()
    before = now - timedelta(days=idempotency_days)
    forgotten = 0
    while True:
        with db.transaction() as conn:
            deleted = DeliveryRepository(conn).prune(
                before, bodies_before=now - MAX_DUPLICATE_WINDOW, at_most=chunk
            )
        forgotten += deleted
        if deleted < chunk:
            return forgotten


async def forget_expired_deliveries_periodically(
    db: Database, *, idempotency_days: int, every_seconds: float = 3600
) -> None:
    """Run ``forget_expired_deliveries`` on a thread every hour, until cancelled: a server
    that runs for months would otherwise keep every delivery id until its next start."""
    await repeat_on_thread(
        every_seconds,
        functools.partial(forget_expired_deliveries, db, idempotency_days=idempotency_days),
        what="forget expired delivery ids",
    )


class IntakeLine:
    """How the webhook endpoint hands deliveries to the database: deliveries that arrive
    together share a transaction (``ingest_together``, group commit), one batch at a time
    per worker; what arrives meanwhile forms the next batch.

    On SQLite the batch runs right on the event loop: SQLite has one writer anyway. On
    PostgreSQL it runs on the thread pool, while the loop goes on reading requests.
    """

    def __init__(
        self,
        db: Database,
        *,
        idempotency_days: int,
        queue_limit: int = 1000,
        queue_wait_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.idempotency_days = idempotency_days
        self.queue_limit = queue_limit
        self.queue_wait_seconds = queue_wait_seconds
        self._batcher: Batcher[Delivery, IntakeResult] = Batcher(self._together)

    async def submit(self, delivery: Delivery) -> IntakeResult:
        self._refuse_when_queue_full()
        return await self._batcher.submit(delivery)

    def _refuse_when_queue_full(self) -> None:
        """Answer at once, writing nothing, when the database is far behind: a provider
        that times out waiting retries anyway, and its retry of a lead we stored late
        would be a second lead. A quick 429 is one it can retry safely. Not logged: that
        would be one more write for the database that is behind."""
        retry_after = retry_after_when_queue_full(
            self._batcher.waiting,
            self._batcher.longest_wait(),
            limit=self.queue_limit,
            max_wait=self.queue_wait_seconds,
        )
        if retry_after is not None:
            raise RateLimited(
                "Too many deliveries are waiting for the database; retry shortly",
                headers={"Retry-After": str(retry_after)},
            )

    async def _together(self, deliveries: list[Delivery]) -> list[IntakeResult | Exception]:
        return await self.db.run(
            intake.ingest_together, self.db, deliveries, idempotency_days=self.idempotency_days
        )
