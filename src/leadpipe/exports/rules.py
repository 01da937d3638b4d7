"""How an exported record is written: CSV cells a spreadsheet will not run, JSON lines."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from leadpipe.kit.jsonvalues import printable
from leadpipe.kit.serialization import dumps

Format = Literal["csv", "jsonl"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
}
# What a spreadsheet starts a formula with (a tab or carriage return before one too).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone in E.164 or a plain number is no formula: a spreadsheet reads it as a value, and
# an apostrophe before every exported phone would be one more thing to clean up.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula (=, +, -, @; not a phone or a plain
    number such as ``+15551234567`` or ``-12.5``) is kept as text; a NUL
    character (stored on SQLite before intake refused it) is written escaped, ``\\u0000``:
    spreadsheets cut the file at one."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    if value[:1] in _FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_line(values: Iterable[Any]) -> str:
    """One CSV row, its cells made safe (``safe_cell``); None as an empty cell."""
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else safe_cell(v) for v in values])
    return out.getvalue()


def csv_columns(fields: Iterable[str], nested: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """A record's columns: its fields, a nested record's (``nested``) as ``name_field``."""
    columns: list[str] = []
    for name in fields:
        if name in nested:
            columns += [f"{name}_{inner}" for inner in nested[name]]
        else:
            columns.append(name)
    return tuple(columns)


def _cell(value: Any) -> Any:
    """A record's value as a cell: objects and lists as JSON text, times and ids as JSON
    writes them."""
    if isinstance(value, dict | list):
        return dumps(value).decode()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def csv_record(
    record: Mapping[str, Any], fields: Iterable[str], nested: Mapping[str, Sequence[str]]
) -> str:
    """A record (as the API shows it) as a CSV row in ``csv_columns``'
    order; a nested record that is missing leaves its cells empty."""
    cells: list[Any] = []
    for name in fields:
        value = record.get(name)
        if name in nested:
            inner = value if isinstance(value, Mapping) else {}
            cells += [_cell(inner.get(key)) for key in nested[name]]
        else:
            cells.append(_cell(value))
    return csv_line(cells)


def json_line(record: Mapping[str, Any]) -> str:
    """A record as one line of JSON (its text's line breaks are escaped in the JSON)."""
    return dumps(record).decode() + "\n"


def file_name(kind: str, workspace_id: str, fmt: Format, stamp: str) -> str:
    """The name a download is saved under: ``leads-39135-20261207-1420.csv``. A workspace id
    is an id, but the name goes in a header: anything but letters, digits, - and _ is
    dropped."""
    safe = "".join(c for c in workspace_id if c.isascii() and (c.isalnum() or c in "-_"))
    return f"{kind}-{safe or 'workspace'}-{stamp}.{fmt}"
