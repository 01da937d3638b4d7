"""The state of deliveries processed together in one transaction: the batch, each
delivery's run, and what was read for it before anything is written."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from leadpipe.intake.contexts import WebhookContexts
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.repository import Answered
from leadpipe.intake.rules.deliveries import Claim
from leadpipe.intake.schemas import Delivery
from leadpipe.leads.submission import ContactMatch, Request, Submitting
from leadpipe.payloads.rules import Submission
from leadpipe.providers.rules import USAGE_COLUMNS
from leadpipe.storage.work import Work
from leadpipe.webhooks.repository import WebhookContext


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
        # New contacts are inserted unanswered in batches, undone whole on a conflict;
        # the deliveries processed one by one after that wait for the answer.
        self.submitting = Submitting(Work.holding_writes(conn), optimistic=optimistic)
        self.work = self.submitting.work
        self.contexts = known.for_batch(conn)
        # Per webhook: the leads its deliveries created, and its last accepted delivery.
        self.leads_counted: dict[str, tuple[int, datetime]] = {}
        # Per (provider, webhook, day, workspace): deliveries by outcome.
        self.usage: dict[tuple[str, str, date, str], dict[str, int]] = {}
        self.providers_used: dict[str, datetime] = {}  # provider -> its last acceptance

    def count_lead(self, webhook_id: str, now: datetime, *, created: bool) -> None:
        """An accepted delivery: the webhook's last lead, and one more of its leads when
        the delivery created one (updating a lead or making none adds no lead)."""
        counted, last = self.leads_counted.get(webhook_id, (0, now))
        self.leads_counted[webhook_id] = (counted + created, max(last, now))

    def count_usage(self, run: Run, status: str) -> None:
        """Count a provider's delivery (``status``: success, error or duplicate)."""
        key = run.usage_key()
        counts = self.usage.setdefault(key, {})
        for column in ("request_count", USAGE_COLUMNS[status]):
            counts[column] = counts.get(column, 0) + 1
        if status == "success":
            self.providers_used[key[0]] = run.now


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
    request: Request  # what the submission command is asked to do
    claim: Claim | None  # what makes it the same delivery as an earlier one
    match: ContactMatch | None = None
    earlier: Answered | None = None  # the answer to the earlier one: this is a duplicate
    key_seen_before: bool = False  # its key was used before the window, and is taken over
    test: bool = False  # a sender's test lead: logged, not stored

    @property
    def submission(self) -> Submission:
        return self.request.submission

    def identity_keys(self) -> set[tuple[str, ...]]:
        keys = self.request.identity_keys()
        if self.claim is not None:  # the second of two alike waits to be seen as a duplicate
            keys.add((self.ctx.id, "claim", self.claim.key))
        return keys

    def lock_order(self) -> tuple[str, ...]:
        """Batches write their contacts in one global order (existing contacts by id, then
        new ones by identity), so two batches never wait for each other's rows in a cycle."""
        if self.match is not None and self.match.matched is not None:
            return ("0", str(self.match.matched.id))
        return self.request.new_contact_order()
