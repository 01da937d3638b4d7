"""When a task is due, as "My tasks" groups them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

OVERDUE, TODAY, UPCOMING, DONE = "overdue", "today", "upcoming", "done"
BUCKETS = (OVERDUE, TODAY, UPCOMING)


def bucket(due_at: datetime, done_at: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    """Overdue once its time has passed; today while it falls due before the end of the
    user's day; upcoming after that."""
    if done_at is not None:
        return DONE
    if due_at <= now:
        return OVERDUE
    local = now.astimezone(zone)
    end_of_day = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return TODAY if due_at.astimezone(zone) < end_of_day else UPCOMING


def grouped(
    tasks: list[dict[str, object]], now: datetime, zone: ZoneInfo
) -> dict[str, list[dict[str, object]]]:
    """Open tasks by bucket, each in due order (as given)."""
    groups: dict[str, list[dict[str, object]]] = {name: [] for name in BUCKETS}
    for task in tasks:
        due_at, done_at = task["due_at"], task["done_at"]
        assert isinstance(due_at, datetime)
        assert done_at is None or isinstance(done_at, datetime)
        name = bucket(due_at, done_at, now, zone)
        if name in groups:
            groups[name].append(task)
    return groups


def local_due(text: str, zone: ZoneInfo) -> datetime | None:
    """A due time as a browser's date-and-time field sends it (``2026-05-01T09:30``, the
    user's wall clock) as a moment; a date alone is 9:00 that day; None when unreadable."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    if len(text.strip()) == 10:  # a date alone
        parsed = parsed.replace(hour=9)
    return parsed.replace(tzinfo=zone)
