"""The intake log: one entry per delivery, accepted, refused or duplicate, written in the
delivery's own transaction (a refusal's in one of its own when that was undone)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from leadpipe.errors import LeadpipeError
from leadpipe.intake.batch import Run
from leadpipe.intake.parsing import redacted_headers
from leadpipe.intake.repository import InboundLogRepository
from leadpipe.kit.ids import uuid7
from leadpipe.observability.deliveries import when_logged
from leadpipe.providers.repository import ProviderRepository
from leadpipe.providers.rules import USAGE_COLUMNS
from leadpipe.storage.engine import Database
from leadpipe.storage.work import Work

log = logging.getLogger("leadpipe.intake")


def log_delivery(run: Run, work: Work, status: str, http_status: int, **fields: Any) -> None:
    d, ctx = run.delivery, run.webhook
    assert ctx is not None
    log_id = uuid7()
    intake_log = InboundLogRepository(work)
    entry = {
        "id": log_id,
        "workspace_id": ctx.workspace_id,
        "webhook_id": ctx.id,
        "request_id": d.request_id,
        "status": status,
        "http_status": http_status,
        "delivery_key": d.delivery_key,
        "processing_ms": round(run.elapsed_ms(), 3),
        "content_type": d.content_type,
        "ip_address": d.ip_address,
        "user_agent": d.user_agent,
        "replay_of": d.replay_of,
        "provider_id": run.provider_id,
        "created_at": run.now,
        **fields,
    }
    intake_log.add(entry)
    when_logged(entry)  # the delivery's log line and count, once committed
    if d.replay_of is not None:
        intake_log.mark_replayed(d.replay_of, log_id)


def log_refusal(run: Run, work: Work, exc: Exception) -> None:
    """Keep a refused delivery with its body and headers, so that it can be seen and
    replayed; of a stranger's, only as much as ``run.keep_body_bytes`` says. Deliveries
    to unknown webhooks are not logged: there is no workspace."""
    if run.webhook is not None:
        d = run.delivery
        log_delivery(
            run,
            work,
            "error",
            request_headers=redacted_headers(d.headers) if d.headers is not None else None,
            **kept_body(d.body, run.keep_body_bytes),
            **_failure_fields(exc),
        )


def kept_body(body: bytes | None, at_most: int | None) -> dict[str, Any]:
    """What the log keeps of a refused body: all of it, or its first ``at_most`` bytes;
    with its size and SHA-256 either way, so that a cut one can still be identified."""
    if body is None:
        return {"raw_body": None}
    kept = body if at_most is None else body[:at_most]
    return {
        "raw_body": kept,
        "body_size": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_truncated": len(kept) < len(body),
    }


def log_refusal_alone(db: Database, run: Run, exc: Exception) -> None:
    """Record a refused delivery in its own transaction (the delivery's was rolled back).
    A failure to log must not hide the error being reported, so it is only logged."""
    try:
        with db.transaction() as conn:
            log_refusal(run, Work(conn), exc)
            if run.provider_id is not None and run.webhook is not None:
                refused = {"request_count": 1, USAGE_COLUMNS["error"]: 1}
                ProviderRepository(conn).add_usage(run.usage_key(), refused)
    except Exception:
        log.exception("could not record a failed delivery in the intake log")


def log_duplicate(run: Run, work: Work, status_code: int, body: dict[str, Any]) -> None:
    log_delivery(
        run,
        work,
        "duplicate",
        status_code,
        contact_id=_uuid_or_none(body.get("contact_id")),
        lead_id=_uuid_or_none(body.get("lead_id")),
    )


def _failure_fields(exc: Exception) -> dict[str, Any]:
    """How a refused delivery appears in the intake log."""
    if isinstance(exc, LeadpipeError):
        details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.details)
        message = f"{exc.message}: {details}" if details else exc.message
        status, code, reason = exc.status_code, exc.code, exc.reason
    else:  # never its text: that is for the server log (IntakeService.ingest)
        status, code, reason = 500, "INTERNAL_ERROR", "internal_error"
        message = "An internal error stopped this delivery"
    return {
        "http_status": status,
        "error_code": code,
        "error_reason": reason,
        "error_message": message[:2000],
    }


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None
