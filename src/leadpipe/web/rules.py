"""What the lead table's query string means: filters, sort, page, period. Pure: the
pages turn a ``TableQuery`` into ``LeadFilters`` with the workspace's time zone."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
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
DEFAULT_PERIOD = 30
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
ASSIGNED_TO_ME = "me"
UNASSIGNED = "none"
ACTIVITY_TYPES = ("call", "email", "sms", "meeting", "note", "quote")
OUTCOMES = ("positive", "neutral", "negative", "pending", "scheduled")


# Filters that take several values at once (``?stage=new&stage=qualified``): a lead matches
# when it has any of them. At most this many of each are read.
MULTI_FILTERS = ("stage", "source", "tag")
MULTI_LIMIT = 50
# What the page shows around the table, kept in the URL with the filters but filtering
# nothing: the metrics' period.
VIEW_ONLY = ("sort", "order", "page", "size", "period")

QueryInput = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class TableQuery:
    """The lead table as the user asked for it; '', () or None means no filter. The URL
    holds all of it (the metrics' period too): every control of the page links to, and
    every saved view stores, ``url()``."""

    q: str = ""
    stage: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    product: str = ""
    assignee: str = ""  # a user id, "me" or "none"
    priority: str = ""
    temperature: str = ""
    created_from: date | None = None
    created_to: date | None = None
    # Created in the last N days, counted to the second like the metrics' period: the heat
    # map's cells link to their leads with it.
    within: int | None = None
    active_from: date | None = None
    active_to: date | None = None
    idle_days: int | None = None
    status: str = "open"  # open (not won, lost or inactive), closed or all
    sort: str = "created_at"
    order: str = "desc"
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    period: int = DEFAULT_PERIOD

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string's values that differ from the defaults (after ``changes``), a
        pair per value: a filter with several values repeats its name."""
        changed = replace(self, **changes) if changes else self
        default = TableQuery()
        out: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(changed, f.name)
            if value == getattr(default, f.name) or value in ("", None, ()):
                continue
            if isinstance(value, tuple):
                out += [(f.name, item) for item in value]
            else:
                out.append((f.name, value.isoformat() if isinstance(value, date) else str(value)))
        return out

    def params(self, **changes: Any) -> dict[str, str]:
        """``pairs`` as a mapping, several values of a filter joined by commas (to compare
        with a quick filter; links use ``url``)."""
        out: dict[str, str] = {}
        for name, value in self.pairs(**changes):
            out[name] = f"{out[name]},{value}" if name in out else value
        return out

    def filter_params(self) -> dict[str, str]:
        """``params`` without what only changes how the leads are shown."""
        return {k: v for k, v in self.params().items() if k not in VIEW_ONLY}

    def url(self, path: str, **changes: Any) -> str:
        pairs = self.pairs(**changes)
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.pairs(**changes))

    def with_filters(self, params: Mapping[str, str]) -> TableQuery:
        """Another set of filters (a quick filter's) shown the way this one is: same
        period, sort and page size, first page."""
        chosen, _ = parse_table_query(params)
        return replace(chosen, period=self.period, sort=self.sort, order=self.order, size=self.size)

    @property
    def is_default_view(self) -> bool:
        """The newest open leads, unfiltered, first page (of any size and period): where a
        new lead shows up on top."""
        return not self.params(size=DEFAULT_PAGE_SIZE, period=DEFAULT_PERIOD)

    @property
    def filters_given(self) -> int:
        return len(self.filter_params())


def _as_lists(raw: QueryInput) -> dict[str, list[str]]:
    """Every value of every name: a query string or form (which repeat a name for several
    values), a plain mapping (one value each), or pairs."""
    if hasattr(raw, "multi_items"):
        pairs: Iterable[tuple[str, str]] = raw.multi_items()
    elif isinstance(raw, Mapping):
        pairs = raw.items()
    else:
        pairs = raw
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def parse_table_query(raw: QueryInput) -> tuple[TableQuery, list[str]]:
    """The table query, and a sentence for every value that was ignored as unreadable."""
    lists = _as_lists(raw)
    one = {name: values[0] for name, values in lists.items()}
    ignored: list[str] = []
    values: dict[str, Any] = {}
    for name in ("q", "product"):
        if one.get(name, "").strip():
            values[name] = one[name].strip()[:200]
    for name in MULTI_FILTERS:
        given = lists.get(name, [])
        if name == "tag":  # typed in one field, separated by commas (as bulk tags are)
            given = [part for value in given for part in value.split(",")]
        chosen = _distinct(v.strip()[:200] for v in given if v.strip())
        if len(chosen) > MULTI_LIMIT:
            ignored.append(f"{name}: at most {MULTI_LIMIT} values")
        if chosen:
            values[name] = chosen[:MULTI_LIMIT]
    assignee = one.get("assignee", "").strip()
    if assignee:
        if assignee in (ASSIGNED_TO_ME, UNASSIGNED) or _is_uuid(assignee):
            values["assignee"] = assignee
        else:
            ignored.append("assignee: not a user")
    _choice(one, "priority", PRIORITIES, values, ignored)
    _choice(one, "temperature", TEMPERATURES, values, ignored)
    _choice(one, "status", ("open", "closed", "all"), values, ignored)
    _choice(one, "sort", tuple(SORTS), values, ignored)
    _choice(one, "order", ("asc", "desc"), values, ignored)
    for name in ("created_from", "created_to", "active_from", "active_to"):
        _day(one, name, values, ignored)
    _number(one, "idle_days", 1, 3650, values, ignored)
    _number(one, "within", 1, 3650, values, ignored)
    _number(one, "page", 1, 1_000_000, values, ignored)
    _one_of(one, "size", PAGE_SIZES, values, ignored)
    _one_of(one, "period", PERIODS, values, ignored)
    return TableQuery(**values), ignored


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _one_of(
    raw: Mapping[str, str],
    name: str,
    allowed: tuple[int, ...],
    values: dict[str, Any],
    ignored: list[str],
) -> None:
    text = raw.get(name, "").strip()
    if not text:
        return
    if (number := ascii_int(text)) in allowed:
        values[name] = number
    else:
        ignored.append(f"{name}: one of {', '.join(map(str, allowed))}")


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


def name_initials(name: str | None, fallback: str | None = None) -> str:
    """A user's initials from their whole name: ``Sam Rivera`` gives ``SR``."""
    parts = (name or "").split()
    return initials(parts[0] if parts else None, parts[-1] if len(parts) > 1 else None, fallback)


def full_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part) or "(no name)"


def quick_filters(user_id: str) -> list[tuple[str, dict[str, str]]]:
    """The table's one-click views: a label and the query it stands for."""
    return [
        ("All open", {}),  # open: not won, lost or inactive
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


def weighted_value(value: Decimal, probability: int | None) -> Decimal:
    """What a column's leads are worth as likely as its stage makes them: their value
    times the stage's probability of winning."""
    return value * Decimal(probability or 0) / 100


def leads_counted(n: int) -> str:
    return f"{n:,} lead" if n == 1 else f"{n:,} leads"


def bulk_result(action: str, done: int, *, target: str = "", tags: Iterable[str] = ()) -> str:
    """The line a bulk action answers with, so that the user sees what it did: "12 leads
    moved to Qualified". ``target`` is the stage's or the assignee's name."""
    named = ", ".join(tags)
    leads = leads_counted(done)
    return {
        "stage": f"{leads} moved to {target}",
        "assign": f"{leads} assigned to {target}" if target else f"{leads} unassigned",
        "tag": f"{named} added to {leads}",
        "untag": f"{named} removed from {leads}",
        "delete": f"{leads} deleted",
    }[action]


def single_group(groups: Mapping[Any, list[uuid.UUID]], limit: int) -> tuple[Any, list[uuid.UUID]]:
    """The one way the changed leads were before, and which they are, when there is just
    one and not too many leads for a form: what an undo needs. (None, []) otherwise."""
    if len(groups) != 1:
        return None, []
    ((before, ids),) = groups.items()
    return (before, ids) if 0 < len(ids) <= limit else (None, [])


# -- the table's columns ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the lead table a user may show or hide. ``sort``: the table's sort its
    header switches to; ``choice``: its name in the chooser, when not its header's."""

    key: str
    label: str
    sort: str | None = None
    field_type: str | None = None  # a custom field's
    choice: str = ""
    always: bool = False  # shown whatever the choice, and not in the chooser

    @property
    def choice_label(self) -> str:
        return self.choice or self.label


# After the lead (its person, always first), in this order; the stage is always shown.
BUILT_IN_COLUMNS = (
    Column("product", "Product"),
    Column("source", "Source"),
    Column("tags", "Tags"),
    Column("stage", "Stage", always=True),
    Column("priority", "Priority", choice="Priority and temperature"),
    Column("score", "Score", sort="lead_score"),
    Column("value", "Value", sort="estimated_value"),
    Column("assignee", "Assignee"),
    Column("phone", "Phone"),
    Column("next_task", "Next task"),
    Column("last_activity", "Last activity"),
    Column("created", "Created", sort="created_at"),
)
# What the table showed before columns could be chosen.
DEFAULT_COLUMNS = ("product", "source", "tags", "priority", "value", "assignee", "created")
CUSTOM_COLUMN = "cf."  # + a custom field's key


def available_columns(fields: Iterable[Any]) -> tuple[Column, ...]:
    """Every column the workspace's table can show: the built-in ones, then a column per
    custom field (``key``, ``label``, ``field_type``), in the fields' order."""
    custom = (Column(CUSTOM_COLUMN + f.key, f.label, field_type=f.field_type) for f in fields)
    return (*BUILT_IN_COLUMNS, *custom)


def shown_columns(stored: Iterable[Any] | None, available: Iterable[Column]) -> tuple[Column, ...]:
    """The columns a user chose (``None``: never chose, the default set), in the table's
    order; a custom field deleted since is no longer among them."""
    keys = set(DEFAULT_COLUMNS if stored is None else stored)
    return tuple(c for c in available if c.always or c.key in keys)


def choosable(available: Iterable[Column]) -> tuple[Column, ...]:
    """The columns the chooser offers: all but those always shown."""
    return tuple(c for c in available if not c.always)


def read_column_choice(
    given: Iterable[str], available: Iterable[Column]
) -> tuple[list[str], list[str]]:
    """The keys of the columns chosen, in the table's order, and the names given that are
    no column of the workspace's table."""
    chosen = list(dict.fromkeys(given))
    known = [c.key for c in choosable(available)]
    return [k for k in known if k in chosen], [k for k in chosen if k not in known]


def shown_value(value: Any) -> str:
    """A custom field's value in a cell: ``Yes``/``No``, a list joined, ``—`` for none."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- colours ---------------------------------------------------------------------------

AA_CONTRAST = 4.5  # WCAG 2 AA for text
BADGE_TINT = 0.14  # the share of the stage's colour in its badge's background (app.css)


def _channels(hex_colour: str) -> tuple[float, float, float]:
    text = hex_colour.lstrip("#")
    return tuple(int(text[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _luminance(rgb: tuple[float, float, float]) -> float:
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours."""
    light, dark = sorted((_luminance(_channels(a)), _luminance(_channels(b))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _mix(a: tuple[float, float, float], b: tuple[float, float, float], share_of_a: float) -> Any:
    return tuple(share_of_a * x + (1 - share_of_a) * y for x, y in zip(a, b, strict=True))


def badge_ink(colour: str) -> str:
    """The text colour of a stage's badge: the stage's own colour, darkened until it reads
    at AA contrast on the badge's tint of it (Proposal's amber was 2.1:1)."""
    base = _channels(colour)
    background = _hex(_mix(base, (1.0, 1.0, 1.0), BADGE_TINT))
    for step in range(21):
        ink = _hex(_mix(base, (0.0, 0.0, 0.0), 1 - step / 20))
        if contrast(ink, background) >= AA_CONTRAST:
            return ink
    return "#000000"
