"""The group-commit driver: deliveries that arrive together share one transaction, and a
delivery's contact, lead, timeline, stage history, webhook counter and intake log entry
are written together with it or not at all. The steps of each delivery are in
``intake/steps.py``."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from leadpipe.errors import Conflict, LeadpipeError, ServiceUnavailable
from leadpipe.intake import steps
from leadpipe.intake.batch import Batch, Checked, Run
from leadpipe.intake.contexts import WebhookContexts
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.log import log_refusal, log_refusal_alone
from leadpipe.intake.schemas import Delivery, IntakeResult
from leadpipe.kit.clock import utcnow
from leadpipe.leads.repository import LeadRepository
from leadpipe.leads.submission import find_contacts, match
from leadpipe.providers.repository import ProviderRepository
from leadpipe.storage.engine import CommitOutcomeUnknown, Database, sent_together
from leadpipe.webhooks.repository import WebhookRepository

log = logging.getLogger("leadpipe.intake")

# A concurrent writer can take an identity between our read and our write; the whole
# delivery is then retried, and the next attempt sees that writer's contact.
MAX_ATTEMPTS = 3


class IntakeService:
    """Processes deliveries; ``contexts`` is the memory of webhook settings, which the
    running app owns (one per process)."""

    def __init__(
        self, contexts: WebhookContexts | None = None, guard: IntakeGuard | None = None
    ) -> None:
        self.contexts = contexts or WebhookContexts()
        self.guard = guard or IntakeGuard()

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
        run = Run(delivery, now or utcnow(), idempotency_days)
        try:
            outcome = self._alone_with_retries(db, run)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        except ServiceUnavailable:
            raise  # nothing to log it into
        except LeadpipeError as exc:
            log_refusal_alone(db, run, exc)
            raise
        except Exception as exc:
            failure = _internal_failure(run, exc)
            log_refusal_alone(db, run, failure)
            raise failure from exc

    def _alone_with_retries(self, db: Database, run: Run) -> IntakeResult | Exception:
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
                    raise Conflict("The lead conflicts with a concurrent change; retry") from None
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
            runs = [Run(d, utcnow(), idempotency_days) for d in waiting]
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
                    "a batch of %d deliveries failed (%s: %s); processing them one by one "
                    "(requests %s)",
                    len(waiting),
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                    ", ".join(d.request_id for d in waiting),
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
        self, conn: Connection, runs: list[Run], *, log_refusals: bool, optimistic: bool
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
        batch = Batch(conn, self.contexts, self.guard, optimistic=optimistic)
        outcomes, ready, end = _read(batch, runs)
        while not batch.contexts.confirm():
            outcomes, ready, end = _read(batch, runs)

        ready.sort(key=lambda entry: entry[1].lock_order())
        items = [item for _, item in ready]
        steps.find_earlier(batch, items)
        leads_known = steps.newest_leads(batch, items)
        for i, item in ready:
            try:
                outcomes[i] = steps.write(item, batch, leads_known)
            except LeadpipeError as exc:
                if item.run.wrote:
                    raise
                outcomes[i] = exc
        done = [outcomes[i] for i in range(end)]  # the rest are checked again in the next
        for run, outcome in zip(runs[:end], done, strict=True):
            if isinstance(outcome, Exception):
                if not log_refusals:
                    continue  # logged, and counted, in a transaction of its own
                log_refusal(run, batch.work, outcome)
            if run.provider_id is not None:
                batch.count_usage(run, _status_of(outcome))
        _finish(batch)
        return done


def _internal_failure(run: Run, exc: Exception) -> LeadpipeError:
    """What the sender and the intake log are told of a failure of ours: a reason code and
    a message, never the exception's text (it may hold SQL, values, paths). The details go
    to the server log, under the request's id."""
    d = run.delivery
    log.error(
        "delivery to webhook %s failed (request %s)", d.webhook_id, d.request_id, exc_info=exc
    )
    return LeadpipeError(
        "An internal error stopped this delivery; the server log has the details under "
        f"its request id, {d.request_id}",
        reason="internal_error",
    )


def _read(
    batch: Batch, runs: list[Run]
) -> tuple[dict[int, IntakeResult | Exception], list[tuple[int, Checked]], int]:
    """Check the deliveries and find their contacts, writing nothing: the refusals by
    position, the deliveries ready to write, and where the batch ends."""
    outcomes: dict[int, IntakeResult | Exception] = {}
    checked: list[tuple[int, Checked]] = []
    providers = batch.guard.providers_of(batch.conn, runs)
    for i, run in enumerate(runs):
        try:
            checked.append((i, steps.check(run, batch, providers)))
        except LeadpipeError as exc:
            outcomes[i] = exc

    end = len(runs)
    taken: set[Any] = set()
    ready: list[tuple[int, Checked]] = []
    found = find_contacts(batch.conn, [item.request for _, item in checked])
    for (i, item), candidates in zip(checked, found, strict=True):
        keys = item.identity_keys() | {c.id for c in candidates}
        if not keys.isdisjoint(taken):
            end = i
            break
        taken |= keys
        try:
            item.match = match(item.request, candidates)
            ready.append((i, item))
        except LeadpipeError as exc:
            outcomes[i] = exc
    return outcomes, ready, end


def _finish(batch: Batch) -> None:
    """Send the writes held back: rows in dependency order, then the webhook counters.

    A batch that writes leads first takes its workspaces' count-writer lock: its lead
    statements lock ``lead_counts`` rows in no global order, and so may a concurrent
    batch's or API request's. The counters go last, so that batches of one webhook hold
    its row only while they commit."""
    leads = LeadRepository(batch.conn)
    with sent_together(batch.conn):  # nothing here awaits an answer
        for workspace_id in sorted(batch.submitting.lead_workspaces):
            leads.serialize_count_writers(workspace_id)
        batch.work.flush()
        webhooks = WebhookRepository(batch.conn)
        for webhook_id, (counted, last_at) in sorted(batch.leads_counted.items()):
            webhooks.count_leads(webhook_id, counted, last_at)
        providers = ProviderRepository(batch.conn)
        for key, counts in sorted(batch.usage.items()):
            providers.add_usage(key, counts)
        for provider_id, last_at in sorted(batch.providers_used.items()):
            providers.touch(provider_id, last_at)


def _status_of(outcome: IntakeResult | Exception) -> str:
    """How the intake log names an outcome."""
    if isinstance(outcome, Exception):
        return "error"
    return "duplicate" if outcome.replayed else "success"
