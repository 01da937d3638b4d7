"""When a replay's claim on a refused delivery is abandoned, and how the replay that took
a delivery is named to the ones that came too late.

Pure: no database, no HTTP, no clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from leadpipe.errors import Conflict, field_error

# A replay holds its refused delivery from its claim to its log entry: a few
# milliseconds, or as long as the Graph API takes for a Facebook notification. A claim
# this old without an entry was left by a worker that died; another replay may take it.
CLAIM_ABANDONED_AFTER_MS = 10 * 60 * 1000


def claimed_at_ms(claim: uuid.UUID) -> int:
    """When a claim was made: a UUIDv7 (``kit.ids.uuid7``) starts with its milliseconds."""
    return claim.int >> 80


def claim_abandoned(claim: uuid.UUID, now_ms: int) -> bool:
    return now_ms - claimed_at_ms(claim) > CLAIM_ABANDONED_AFTER_MS


def replayed_already(replay: dict[str, Any]) -> Conflict:
    """The refusal of a replay that came after another: when the other happened, as which
    log entry, and what it made (``InboundLogRepository.replay_state``)."""
    at: datetime = replay["created_at"]
    made = _what_it_made(replay)
    return Conflict(
        f"This delivery was replayed already, at {at.isoformat()}, as '{replay['replay_id']}' "
        f"({made}); replay that one if it was refused too",
        [
            field_error("replayed_as", str(replay["replay_id"])),
            field_error("replayed_at", at.isoformat()),
            field_error("http_status", str(replay["http_status"])),
            field_error("lead_id", str(replay["lead_id"]) if replay["lead_id"] else ""),
            field_error("lead_action", replay["lead_action"] or ""),
        ],
        reason="replayed_already",
    )


def being_replayed(claim: uuid.UUID) -> Conflict:
    at = datetime.fromtimestamp(claimed_at_ms(claim) / 1000, tz=UTC)
    return Conflict(
        f"This delivery is being replayed by another request since {at.isoformat()}; "
        "its outcome will be in the delivery log shortly",
        reason="replay_in_progress",
    )


def _what_it_made(replay: dict[str, Any]) -> str:
    if replay["status"] == "error":
        return f"refused again with {replay['http_status']}"
    if replay["lead_id"] is None:
        return "no lead"
    action = replay["lead_action"] if replay["lead_action"] in ("created", "updated") else "kept"
    return f"{action} lead {replay['lead_id']}"
