"""When two deliveries are the same one, and when a worker is too far behind to queue.

Pure: no database, no HTTP."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

BODY_CLAIM_PREFIX = "body:"


@dataclass(frozen=True, slots=True)
class Claim:
    """What makes a delivery the same as an earlier one: the provider's delivery id, or
    else its body, and since when an earlier one counts."""

    key: str
    since: datetime


def delivery_claim(
    delivery_key: str | None,
    body: bytes | None,
    *,
    now: datetime,
    idempotency_days: int,
    duplicate_window_minutes: int,
) -> Claim | None:
    """A delivery id is remembered for the idempotency window; without one, an identical
    body is the same delivery within the webhook's duplicate window (DESIGN §2.14): a
    double submit, or a provider's retry after its own timeout. None: nothing to match."""
    if delivery_key is not None:
        return Claim(delivery_key, now - timedelta(days=idempotency_days))
    if duplicate_window_minutes <= 0 or body is None:
        return None
    fingerprint = BODY_CLAIM_PREFIX + hashlib.sha256(body).hexdigest()
    return Claim(fingerprint, now - timedelta(minutes=duplicate_window_minutes))


def duplicate_answer(
    first: dict[str, Any], *, received_at: datetime, by_body: bool, request_id: str
) -> dict[str, Any]:
    """The answer to a delivery that repeats an earlier one (DESIGN §2.14): the first
    answer, its ids and decision as they were, with a message that says plainly it is a
    duplicate and of which delivery and lead, ``duplicate`` set, and the earlier
    delivery's request id, time and message in ``duplicate_of``. The request id is this
    request's, as in its ``X-Request-Id`` header."""
    at = received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = first.get("request_id")
    what = "an identical body" if by_body else "a delivery with the same delivery id"
    message = (
        f"Duplicate of an earlier delivery: {what} reached this webhook at {at} "
        f"(request {earlier}); nothing new was written. {_what_it_made(first)}"
    )
    if by_body:
        message += " To send another lead, change any value (for example notes)."
    return {
        **first,
        "message": message,
        "duplicate": True,
        "duplicate_of": {"request_id": earlier, "received_at": at, "message": first.get("message")},
        "request_id": request_id,
    }


def _what_it_made(first: dict[str, Any]) -> str:
    if first.get("lead_id"):
        return f"Its lead is {first['lead_id']}."
    return f"It made no lead; its contact is {first.get('contact_id')}."


def retry_after_when_queue_full(
    waiting: int, longest_wait: float, *, limit: int, max_wait: float
) -> int | None:
    """Seconds a new delivery should wait before retrying, when a worker already holds
    ``limit`` deliveries or one that has waited ``max_wait`` seconds; None to take it.

    The advice is about as long as the oldest has waited: roughly how far behind the
    database is."""
    if waiting < limit and longest_wait < max_wait:
        return None
    return max(1, math.ceil(longest_wait))
