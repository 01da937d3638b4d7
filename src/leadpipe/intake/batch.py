"""The state of deliveries processed together in one transaction: the batch, each
delivery's run, and what was read for it before anything is written."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from leadpipe.contacts.rules import ContactIdentity, MatchType
from leadpipe.intake.contexts import WebhookContexts
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.repository import Answered, WebhookContext
from leadpipe.intake.rules.deliveries import Claim
from leadpipe.intake.rules.providers import USAGE_COLUMNS
from leadpipe.intake.rules.submission import Submission
from leadpipe.intake.schemas import Delivery
from leadpipe.leads.rules import Decision
from leadpipe.storage.work import Work


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    id: uuid.UUID
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """What the contact lookup found for a submission, before anything is written."""

    candidates: list[ContactIdentity]
    matched: ContactIdentity | None
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class LeadOutcome:
    id: uuid.UUID | None
    decision: Decision
    rule_applied: str | None = None  # the webhook's intake rule that fired


class Batch:
    """Deliveries processed in one transaction, and the writes they leave for its end.

    A delivery's lead, stage history, timeline, log entry and counter wait in ``work``
    and go out together at the end (``IntakeService._finish``). No other delivery of the
    batch needs to read them: deliveries that share a contact or an identity never share
    a batch (``IntakeService._read``).
    """

    def __init__(
        self, conn: Connection, known: WebhookContexts, guard: IntakeGuard, *, optimistic: bool
    ) -> None:
        self.conn = conn
        self.guard = guard  # who may deliver, and how often
        # Whether new contacts are inserted without waiting for the database's answer:
        # batches do that (one round trip less per new person), and are undone whole on
        # a conflict; the deliveries processed one by one after that do not.
        self.optimistic = optimistic
        self.work = Work.holding_writes(conn)
        self.contexts = known.for_batch(conn)
        self.lead_workspaces: set[str] = set()  # where the batch writes leads
        self.leads_counted: dict[str, tuple[int, datetime]] = {}  # per webhook: how many, last
        # Per (provider, webhook, day, workspace): deliveries by outcome.
        self.usage: dict[tuple[str, str, date, str], dict[str, int]] = {}
        self.providers_used: dict[str, datetime] = {}  # provider -> its last acceptance

    def count_lead(self, webhook_id: str, now: datetime) -> None:
        counted, last = self.leads_counted.get(webhook_id, (0, now))
        self.leads_counted[webhook_id] = (counted + 1, max(last, now))

    def count_usage(self, run: Run, status: str) -> None:
        """Count a provider's delivery (``status``: success, error or duplicate)."""
        key = run.usage_key()
        counts = self.usage.setdefault(key, {})
        for column in ("request_count", USAGE_COLUMNS[status]):
            counts[column] = counts.get(column, 0) + 1
        if status == "success":
            self.providers_used[key[0]] = run.now

    def note_lead_write(self, workspace_id: str) -> None:
        self.lead_workspaces.add(workspace_id)


class Run:
    """One delivery being processed; remembers the webhook once resolved, for the log."""

    def __init__(self, delivery: Delivery, now: datetime, idempotency_days: int) -> None:
        self.delivery = delivery
        self.now = now
        self.idempotency_days = idempotency_days
        self.webhook: WebhookContext | None = None
        # Who sent it, once its credential checked out, and when it was signed (Standard
        # Webhooks): both known before anything is written.
        self.provider_id: str | None = None
        self.signed_at: int | None = None
        # How much of its body the log keeps should it be refused: all (None), or as
        # little as a refused stranger's deserves (``IntakeGuard``).
        self.keep_body_bytes: int | None = None
        # Set before the delivery's first write: a refusal after it cannot be undone
        # without undoing its whole transaction.
        self.wrote = False

    def usage_key(self) -> tuple[str, str, date, str]:
        """Where its provider's usage is counted: (provider, webhook, day, workspace)."""
        assert self.provider_id is not None
        assert self.webhook is not None
        return (self.provider_id, self.webhook.id, self.now.date(), self.webhook.workspace_id)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.delivery.started) * 1000


@dataclass(slots=True)
class Checked:
    """A delivery whose webhook and payload passed, and the contact it is, if any: all
    read, nothing written yet."""

    run: Run
    ctx: WebhookContext
    submission: Submission
    scope: str  # the dedup scope: "" (the workspace) or the webhook's id
    claim: Claim | None  # what makes it the same delivery as an earlier one
    match: ContactMatch | None = None
    earlier: Answered | None = None  # the answer to the earlier one: this is a duplicate
    key_seen_before: bool = False  # its key was used before the window, and is taken over
    test: bool = False  # a sender's test lead: logged, not stored

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
