"""What the lead table's query string means: filters, sort, page, period. Pure: the
pages turn a ``TableQuery`` into ``LeadFilters`` with the workspace's time zone."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadpipe.kit.coerce import ascii_int

SORTS = {
    "created_at": "Created",
    "updated_at": "Updated",
    "estimated_value": "Value",
    "lead_score": "Score",
}
PRIORITIES = ("low", "medium", "high", "urgent")
TEMPERATURES = ("cold", "warm", "hot")
PERIODS = (7, 30, 90)
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
ASSIGNED_TO_ME = "me"
UNASSIGNED = "none"
ACTIVITY_TYPES = ("call", "email", "sms", "meeting", "note", "quote")
OUTCOMES = ("positive", "neutral", "negative", "pending", "scheduled")


@dataclass(frozen=True, slots=True)
class TableQuery:
    """The lead table as the user asked for it; '' or None means no filter."""

    q: str = ""
    stage: str = ""
    source: str = ""
    product: str = ""
    assignee: str = ""  # a user id, "me" or "none"
    priority: str = ""
    temperature: str = ""
    created_from: date | None = None
    created_to: date | None = None
    active_from: date | None = None
    active_to: date | None = None
    idle_days: int | None = None
    status: str = "open"  # open, closed or all
    sort: str = "created_at"
    order: str = "desc"
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string's values that differ from the defaults (after ``changes``)."""
        changed = replace(self, **changes) if changes else self
        default = TableQuery()
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(changed, f.name)
            if value != getattr(default, f.name) and value not in ("", None):
                out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def url(self, path: str, **changes: Any) -> str:
        params = self.params(**changes)
        return f"{path}?{urlencode(params)}" if params else path

    @property
    def is_default_view(self) -> bool:
        """The newest open leads, unfiltered, first page (of any size): where a new lead
        shows up on top."""
        return not self.params(size=DEFAULT_PAGE_SIZE)

    @property
    def filters_given(self) -> int:
        ignored = {"sort", "order", "page", "size"}
        return len([k for k in self.params() if k not in ignored])


def parse_table_query(raw: Mapping[str, str]) -> tuple[TableQuery, list[str]]:
    """The table query, and a sentence for every value that was ignored as unreadable."""
    ignored: list[str] = []
    values: dict[str, Any] = {}
    for name in ("q", "stage", "source", "product"):
        if raw.get(name, "").strip():
            values[name] = raw[name].strip()[:200]
    assignee = raw.get("assignee", "").strip()
    if assignee:
        if assignee in (ASSIGNED_TO_ME, UNASSIGNED) or _is_uuid(assignee):
            values["assignee"] = assignee
        else:
            ignored.append("assignee: not a user")
    _choice(raw, "priority", PRIORITIES, values, ignored)
    _choice(raw, "temperature", TEMPERATURES, values, ignored)
    _choice(raw, "status", ("open", "closed", "all"), values, ignored)
    _choice(raw, "sort", tuple(SORTS), values, ignored)
    _choice(raw, "order", ("asc", "desc"), values, ignored)
    for name in ("created_from", "created_to", "active_from", "active_to"):
        _day(raw, name, values, ignored)
    _number(raw, "idle_days", 1, 3650, values, ignored)
    _number(raw, "page", 1, 1_000_000, values, ignored)
    size = raw.get("size", "").strip()
    if size:
        if (number := ascii_int(size)) in PAGE_SIZES:
            values["size"] = number
        else:
            ignored.append(f"size: one of {', '.join(map(str, PAGE_SIZES))}")
    return TableQuery(**values), ignored


# The delivery log's outcomes as the intake log names them, with the webhook page's labels.
DELIVERY_OUTCOMES = {
    "success": "Accepted",
    "duplicate": "Duplicates",
    "error": "Refused",
    "test": "Tests",
}
DELIVERIES_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """A webhook's delivery log as the user asked for it: an outcome, days (of the
    workspace's zone, both included) and a page; '' or None means no filter."""

    status: str = ""
    created_from: date | None = None
    created_to: date | None = None
    page: int = 1

    def url(self, path: str, **changes: Any) -> str:
        changed = replace(self, **changes) if changes else self
        params = {
            f.name: value.isoformat() if isinstance(value, date) else str(value)
            for f in fields(changed)
            if (value := getattr(changed, f.name)) not in ("", None, 1)
        }
        return f"{path}?{urlencode(params)}" if params else path

    @property
    def offset(self) -> int:
        return (self.page - 1) * DELIVERIES_PER_PAGE


def parse_delivery_query(raw: Mapping[str, str]) -> tuple[DeliveryQuery, list[str]]:
    """The delivery log's query, and a sentence for every value ignored as unreadable."""
    ignored: list[str] = []
    values: dict[str, Any] = {}
    _choice(raw, "status", tuple(DELIVERY_OUTCOMES), values, ignored)
    for name in ("created_from", "created_to"):
        _day(raw, name, values, ignored)
    _number(raw, "page", 1, 1_000_000, values, ignored)
    return DeliveryQuery(**values), ignored


def _day(raw: Mapping[str, str], name: str, values: dict[str, Any], ignored: list[str]) -> None:
    text = raw.get(name, "").strip()
    if not text:
        return
    try:
        values[name] = date.fromisoformat(text)
    except ValueError:
        ignored.append(f"{name}: not a date (YYYY-MM-DD)")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _choice(
    raw: Mapping[str, str],
    name: str,
    allowed: tuple[str, ...],
    values: dict[str, Any],
    ignored: list[str],
) -> None:
    text = raw.get(name, "").strip()
    if not text:
        return
    if text in allowed:
        values[name] = text
    else:
        ignored.append(f"{name}: one of {', '.join(allowed)}")


def _number(
    raw: Mapping[str, str],
    name: str,
    low: int,
    high: int,
    values: dict[str, Any],
    ignored: list[str],
) -> None:
    text = raw.get(name, "").strip()
    if not text:
        return
    number = ascii_int(text)
    if number is not None and low <= number <= high:
        values[name] = number
    else:
        ignored.append(f"{name}: a whole number from {low} to {high}")


def zone(name: str | None) -> ZoneInfo:
    """The workspace's time zone; UTC when unset or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def readable_time(value: datetime, tz: ZoneInfo) -> str:
    """A moment as the dashboard shows it, in the workspace's zone: ``7 Dec 2026, 14:05``."""
    local = value.astimezone(tz)
    return f"{local.day} {local:%b %Y, %H:%M}"


def relative_time(value: datetime, now: datetime) -> str:
    """How long ago, as a glance reads it: ``just now``, ``2 min ago``, ``3 d ago``."""
    seconds = int((now - value).total_seconds())
    for size, unit in ((86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def moment_of(value: datetime | str | None) -> datetime | None:
    """A stored moment, or a text that states one with its offset (a consent time as a
    form sent it, ``2026-12-07T14:05:00Z``); None for a text without an offset or that is
    no time: shown as sent, since its zone is not known."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the workspace's zone, in UTC."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def day_end(day: date, tz: ZoneInfo) -> datetime:
    """The exclusive end of ``day``: a date range includes its last day."""
    return day_start(day + timedelta(days=1), tz)


def period_bounds(days: int, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))


def initials(first: str | None, last: str | None, fallback: str | None = None) -> str:
    letters = "".join(part[0] for part in (first, last) if part)
    return (letters or (fallback or "?")[0]).upper()


def full_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part) or "(no name)"


def quick_filters(user_id: str) -> list[tuple[str, dict[str, str]]]:
    """The table's one-click views: a label and the query it stands for."""
    return [
        ("All open", {}),
        ("New", {"stage": "new"}),
        ("Hot", {"temperature": "hot"}),
        ("Urgent", {"priority": "urgent"}),
        ("Mine", {"assignee": user_id}),
        ("Unassigned", {"assignee": UNASSIGNED}),
        ("No activity 7 days", {"idle_days": "7"}),
        ("Won", {"stage": "won", "status": "all"}),
    ]


def imported_by(created_by: str, member_names: Mapping[str, str]) -> str:
    """Who started an import, as the imports page shows it: a member's name (by the user
    id in ``user:<id>``), an API key, or the ``leadpipe`` command."""
    kind, _, ident = created_by.partition(":")
    if kind == "user":
        return member_names.get(ident, "a former member")
    if kind == "api_key":
        return "an API key"
    return "the command line"
