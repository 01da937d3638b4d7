"""How a running app hands deliveries to the database, and forgets old delivery ids."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from leadpipe.errors import RateLimited
from leadpipe.intake.contexts import WebhookContexts
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.repository import DeliveryRepository
from leadpipe.intake.rules.deliveries import retry_after_when_queue_full
from leadpipe.intake.schemas import Delivery, IntakeResult
from leadpipe.intake.service import IntakeService
from leadpipe.kit.batching import Batcher
from leadpipe.kit.clock import utcnow
from leadpipe.kit.periodic import repeat_on_thread
from leadpipe.realtime.events import Event
from leadpipe.storage.engine import Database
from leadpipe.webhooks.repository import WebhookContext, WebhookRepository
from leadpipe.webhooks.rules import MAX_DUPLICATE_WINDOW


class IntakeLine:
    """How the webhook endpoint hands deliveries to the database: deliveries that arrive
    together share a transaction (``IntakeService.ingest_together``, group commit), one
    batch at a time per worker; what arrives meanwhile forms the next batch. The line
    owns the worker's memory of webhook settings.

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
        publish: Callable[[Iterable[Event]], None] | None = None,
        guard: IntakeGuard | None = None,
    ) -> None:
        self.db = db
        # Told what each committed delivery changed (live events).
        self.publish = publish or (lambda _events: None)
        self.idempotency_days = idempotency_days
        self.queue_limit = queue_limit
        self.queue_wait_seconds = queue_wait_seconds
        self.intake = IntakeService(WebhookContexts(), guard)
        self._batcher: Batcher[Delivery, IntakeResult] = Batcher(self._together)

    async def webhook(self, webhook_id: str) -> WebhookContext | None:
        """A webhook's settings: as this worker remembers them, else as stored."""
        known = self.intake.contexts.get(webhook_id)
        if known is not None:
            return known
        return await self.db.read(lambda conn: WebhookRepository(conn).context(webhook_id))

    async def submit(self, delivery: Delivery) -> IntakeResult:
        self._refuse_when_queue_full()
        return await self._batcher.submit(delivery)

    async def submit_all(self, deliveries: list[Delivery]) -> IntakeResult:
        """Deliveries that one request stands for (a leadgen notification's leads): the
        first refusal is raised; else the one answer or, for several, every one's."""
        if len(deliveries) == 1:
            return await self.submit(deliveries[0])
        outcomes = await asyncio.gather(
            *(self.submit(d) for d in deliveries), return_exceptions=True
        )
        results = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome)
        return IntakeResult(200, {"success": True, "leads": [r.body for r in results]})

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
        outcomes = await self.db.run(
            self.intake.ingest_together,
            self.db,
            deliveries,
            idempotency_days=self.idempotency_days,
        )
        # Only now: every outcome that is a result has committed.
        self.publish(e for o in outcomes if isinstance(o, IntakeResult) for e in o.news)
        return outcomes


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
