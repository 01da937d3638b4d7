"""A webhook's life: deleted softly, restorable for a day, then purged."""

from __future__ import annotations

from datetime import datetime, timedelta

RESTORABLE_FOR = timedelta(hours=24)


def restorable_until(deleted_at: datetime) -> datetime:
    return deleted_at + RESTORABLE_FOR


def may_restore(deleted_at: datetime | None, now: datetime) -> bool:
    return deleted_at is not None and now < restorable_until(deleted_at)


def purge_before(now: datetime) -> datetime:
    """Webhooks deleted before this are purged."""
    return now - RESTORABLE_FOR


# The longest a webhook may treat an identical body as a duplicate (its
# duplicate_window_minutes): a day.
MAX_DUPLICATE_WINDOW = timedelta(days=1)
