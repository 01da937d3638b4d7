"""The intake log's retention: deliveries older than ``LEADPIPE_INTAKE_LOG_RETENTION_DAYS``
are deleted, a batch per transaction, by ``leadpipe intake prune`` and hourly by the app.

Nothing refers to a log entry by key: the leads, contacts and timelines a delivery made
stay, and so do the webhook's lead counter, the providers' daily usage and the delivery
ids kept for idempotency (pruned on their own). A provider's all-time leads count from
the log, so the leads its pruned deliveries created are kept apart first."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.intake.repository import InboundLogRepository
from leadpipe.kit.clock import utcnow
from leadpipe.kit.periodic import repeat_on_thread
from leadpipe.storage.engine import Database

# Deliveries deleted per transaction: short enough that SQLite's one writer (intake) never
# waits long for the lock.
PRUNE_BATCH = 1000


def prune_intake_log(
    db: Database, *, retention_days: int, batch: int = PRUNE_BATCH, now: datetime | None = None
) -> int:
    """Delete the deliveries logged more than ``retention_days`` ago, at most ``batch``
    per transaction; returns how many."""
    before = (now or utcnow()) - timedelta(days=retention_days)
    with db.transaction() as conn:
        workspace_ids = [w.id for w in WorkspaceRepository(conn).all()]
    pruned = 0
    for workspace_id in workspace_ids:
        while True:
            with db.transaction() as conn:
                log = InboundLogRepository(conn)
                deleted = log.prune(log.oldest_before(workspace_id, before, batch))
            pruned += deleted
            if deleted < batch:
                break
    return pruned


async def prune_intake_log_periodically(
    db: Database, *, retention_days: int, every_seconds: float = 3600
) -> None:
    """``prune_intake_log`` on a thread every hour, until cancelled."""
    await repeat_on_thread(
        every_seconds,
        functools.partial(prune_intake_log, db, retention_days=retention_days),
        what="prune the intake log",
    )
