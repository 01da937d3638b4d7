"""A webhook's delivery log: what came, what it was answered, and replaying a refusal."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from starlette.datastructures import Headers

from leadpipe.errors import Conflict, LeadpipeError, NotFound, RateLimited, ServiceUnavailable
from leadpipe.intake.facebook import GraphApi, leads_of
from leadpipe.intake.line import IntakeLine
from leadpipe.intake.parsing import payload_of
from leadpipe.intake.repository import InboundLogRepository
from leadpipe.intake.rules.replays import being_replayed, claim_abandoned, replayed_already
from leadpipe.intake.rules.stats import STATS_PERIODS, period_stats
from leadpipe.intake.schemas import Delivery
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.storage.engine import Database
from leadpipe.webhooks.presets import leadgen_changes
from leadpipe.webhooks.service import webhook

# Idempotency keys of replays: a second replay of one delivery gets the first's answer.
REPLAY_KEY_PREFIX = "replay:"
# How long a replay that came second waits for the first one's outcome, and how often
# it looks.
REPLAY_WAIT_SECONDS = 15.0
REPLAY_POLL_SECONDS = 0.05


def _with_text_body(row: dict[str, Any]) -> dict[str, Any]:
    """One log row as the API shows it: the body as text, when it was kept."""
    body = row["raw_body"]
    return {
        **row,
        "has_body": body is not None,
        "body": bytes(body).decode("utf-8", "replace") if body is not None else None,
        "headers": row["request_headers"],
    }


# A period's processing times are those of its latest deliveries, up to this many: a
# busy webhook's month is not read whole for a percentile.
TIMES_SAMPLED = 5000


class DeliveryLogService:
    def stats(
        self, conn: Connection, workspace_id: str, webhook_id: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """Its counters, and per period (24 hours, 7 and 30 days) its deliveries by
        outcome and their processing times, from its delivery log."""
        found = webhook.get(conn, workspace_id, webhook_id)
        return {
            "webhook_id": webhook_id,
            "total_leads": found["total_leads"],
            "last_lead_at": found["last_lead_at"],
            "periods": self.periods(conn, webhook_id, now),
        }

    def periods(
        self, conn: Connection, webhook_id: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """``stats``' periods, of a webhook its caller has found in its workspace."""
        now = now or utcnow()
        log = InboundLogRepository(conn)
        starts = {label: now - length for label, length in STATS_PERIODS.items()}
        counts = log.outcome_counts(webhook_id, starts)
        return {
            label: period_stats(counts[label], log.latest_times(webhook_id, since, TIMES_SAMPLED))
            for label, since in starts.items()
        }

    def page(
        self,
        conn: Connection,
        workspace_id: str,
        webhook_id: str,
        *,
        status: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        webhook.get(conn, workspace_id, webhook_id)
        return InboundLogRepository(conn).page(
            webhook_id,
            status=status,
            created_from=created_from,
            created_to=created_to,
            limit=limit,
            offset=offset,
        )

    def leads_touched(
        self,
        conn: Connection,
        workspace_id: str,
        webhook_id: str,
        *,
        status: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> int:
        """How many leads the deliveries of ``page`` (all its pages) created or updated:
        a lead several of them updated counts once."""
        webhook.get(conn, workspace_id, webhook_id)
        return InboundLogRepository(conn).leads_touched(
            webhook_id, status=status, created_from=created_from, created_to=created_to
        )

    def one(
        self, conn: Connection, workspace_id: str, webhook_id: str, delivery_id: uuid.UUID
    ) -> dict[str, Any]:
        return _with_text_body(self._row(conn, workspace_id, webhook_id, delivery_id))

    def _row(
        self, conn: Connection, workspace_id: str, webhook_id: str, delivery_id: uuid.UUID
    ) -> dict[str, Any]:
        webhook.get(conn, workspace_id, webhook_id)
        row = InboundLogRepository(conn).one(webhook_id, delivery_id)
        if row is None:
            raise NotFound(f"No delivery '{delivery_id}' on webhook '{webhook_id}'")
        return row

    def replayable(
        self, conn: Connection, workspace_id: str, webhook_id: str, delivery_id: uuid.UUID
    ) -> dict[str, Any]:
        """The refused delivery to replay, or why it cannot be."""
        row = self._row(conn, workspace_id, webhook_id, delivery_id)
        if row["status"] != "error":
            raise Conflict(f"Only refused deliveries can be replayed; this one is {row['status']}")
        if row["raw_body"] is None:
            raise Conflict("This delivery's body was not kept (it was over the body limit)")
        if row["body_truncated"]:
            raise Conflict(
                f"This delivery's body was not kept whole (only its first "
                f"{len(row['raw_body'])} of {row['body_size']} bytes: its sender was refused "
                "before it proved who it was), so it cannot be replayed"
            )
        return row

    async def replay(
        self,
        db: Database,
        line: IntakeLine,
        graph: GraphApi,
        workspace_id: str,
        webhook_id: str,
        delivery_id: uuid.UUID,
        request_id: str,
    ) -> dict[str, Any]:
        """Run a refused delivery again through the webhook's settings of today: its
        outcome, and the new log entry that records it. A Facebook leadgen notification
        fetches its leads again (the ones stored already are duplicates by their id)."""
        started = time.perf_counter()
        row = await db.read(
            lambda conn: self.replayable(conn, workspace_id, webhook_id, delivery_id)
        )
        claim = await self._claim(db, webhook_id, delivery_id)
        try:
            status_code, response = await self._run_again(
                line, graph, row, webhook_id, delivery_id, request_id, started
            )
        except BaseException:
            await _release(db, delivery_id, claim)
            raise
        original = await db.read(
            lambda conn: InboundLogRepository(conn).one(webhook_id, delivery_id)
        )
        assert original is not None
        replayed_as = original["replayed_as"]
        if replayed_as == claim:  # its log entry could not be written: nothing holds it
            await _release(db, delivery_id, claim)
            replayed_as = None
        return {
            "delivery_id": delivery_id,
            "replayed_as": replayed_as,
            "http_status": status_code,
            "response": response,
        }

    async def _claim(self, db: Database, webhook_id: str, delivery_id: uuid.UUID) -> uuid.UUID:
        """Take the refused delivery for this replay, or refuse with ``Conflict`` naming
        the replay that took it: of concurrent replays one runs and the others wait for its
        outcome to say what it made (``REPLAY_WAIT_SECONDS`` at most)."""
        claim = uuid7()
        deadline = time.monotonic() + REPLAY_WAIT_SECONDS
        while True:
            state = await db.read(
                lambda conn: InboundLogRepository(conn).replay_state(webhook_id, delivery_id)
            )
            if state is None:
                raise NotFound(f"No delivery '{delivery_id}' on webhook '{webhook_id}'")
            if state["replay_id"] is not None:
                raise replayed_already(state)
            held = state["replayed_as"]
            if held is None or claim_abandoned(held, time.time_ns() // 1_000_000):
                taken = await db.write(
                    functools.partial(_take, webhook_id, delivery_id, claim, taking_over=held)
                )
                if taken:
                    return claim
                continue  # another replay's claim came first: see what it made
            if time.monotonic() > deadline:
                raise being_replayed(held)
            await asyncio.sleep(REPLAY_POLL_SECONDS)

    async def _run_again(
        self,
        line: IntakeLine,
        graph: GraphApi,
        row: dict[str, Any],
        webhook_id: str,
        delivery_id: uuid.UUID,
        request_id: str,
        started: float,
    ) -> tuple[int, dict[str, Any]]:
        body = bytes(row["raw_body"])
        headers = Headers(headers=row["request_headers"])  # kept with every refused body
        payload, problem, warnings = await payload_of(body, headers)
        delivery = Delivery(
            webhook_id=webhook_id,
            payload=payload,
            problem=problem,
            warnings=warnings,
            workspace_header=None,  # the caller's API key already says whose it is
            delivery_key=REPLAY_KEY_PREFIX + str(delivery_id),
            content_type=row["content_type"],
            ip_address=row["ip_address"],
            user_agent=row["user_agent"],
            request_id=request_id,
            started=started,
            body=body,
            headers=headers,
            replay_of=delivery_id,
            from_admin=True,
        )
        attempts = [delivery]
        changes = leadgen_changes(payload) if payload is not None else []
        ctx = await line.webhook(webhook_id) if changes else None
        if ctx is not None and ctx.preset == "facebook":
            # Each lead by its own id, not the replay's: the ones stored are duplicates.
            notice = dataclasses.replace(delivery, delivery_key=None)
            attempts = await leads_of(graph, ctx, notice, changes)
        try:
            result = await line.submit_all(attempts)
        except (RateLimited, ServiceUnavailable):
            raise  # nothing was tried: the caller retries the replay itself
        except LeadpipeError as exc:
            return exc.status_code, exc.body(request_id)
        return result.status_code, result.body


def _take(
    webhook_id: str,
    delivery_id: uuid.UUID,
    claim: uuid.UUID,
    conn: Connection,
    *,
    taking_over: uuid.UUID | None,
) -> bool:
    return InboundLogRepository(conn).claim_replay(
        webhook_id, delivery_id, claim, taking_over=taking_over
    )


async def _release(db: Database, delivery_id: uuid.UUID, claim: uuid.UUID) -> None:
    await db.write(lambda conn: InboundLogRepository(conn).release_replay(delivery_id, claim))


deliveries = DeliveryLogService()
