"""What a CSV file of leads says: its header and rows, each row a payload read under the
same aliases and column map as a webhook's (``payloads.mapping``).

Pure: no database, no HTTP."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import orjson

from leadpipe.errors import ValidationFailed, field_error
from leadpipe.payloads.mapping import ALIASES, canonical_field

# A spreadsheet's cells can be long (notes), but not without end.
csv.field_size_limit(1024 * 1024)

MAX_COLUMNS = 500
# What a column can be mapped to: every field a payload's aliases name.
FIELDS = tuple(ALIASES)
CUSTOM_FIELD = "custom field"
# An unfinished import whose progress has not moved for this long has stopped (its
# process ended: a restart, a crash). A chunk of rows takes seconds, not minutes.
STALLED_AFTER = timedelta(minutes=2)


def decoded(content: bytes) -> str:
    """The file as text: UTF-8 (with or without the byte-order mark spreadsheets write),
    else Windows-1252, which is what Excel saves "CSV" in on many machines."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def header_and_rows(content: bytes) -> tuple[list[str], Iterator[list[str]]]:
    """The header row and an iterator over the rows after it; refused (400) when the file
    has no header or an empty or repeated column name."""
    if b"\x00" in content[: 64 * 1024]:
        raise ValidationFailed(
            "The file cannot be imported", [field_error("file", "is not a CSV file (binary)")]
        )
    text = decoded(content)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[: 64 * 1024]))
    header = [h.strip() for h in next(reader, [])]
    problems = header_problems(header)
    if problems:
        raise ValidationFailed("The CSV file cannot be imported", problems)
    return header, reader


def header_problems(header: list[str]) -> list[dict[str, Any]]:
    if not any(header):
        return [field_error("file", "has no header row: its first row names the columns")]
    if len(header) > MAX_COLUMNS:
        return [field_error("file", f"has more than {MAX_COLUMNS} columns")]
    problems = []
    seen: set[str] = set()
    for n, name in enumerate(header, start=1):
        if not name:
            problems.append(field_error(f"column {n}", "has no name in the header row"))
        elif name.lower() in seen:
            problems.append(field_error(name, "is named twice in the header row"))
        seen.add(name.lower())
    return problems


def column_map_problems(header: list[str], column_map: dict[str, str]) -> list[dict[str, Any]]:
    """A column map names columns of the file (``"Cell #": "phone"``)."""
    known = set(header)
    return [
        field_error(f"column_map.{column}", "is not a column of the file")
        for column in column_map
        if column not in known
    ]


def parse_column_map(pairs: list[str]) -> dict[str, str]:
    """``COLUMN=FIELD`` pairs (the CLI's ``--map``, the API's ``map``) as a column map."""
    column_map = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValidationFailed(
                "Invalid column map", [field_error("map", f"'{pair}' is not COLUMN=FIELD")]
            )
        column_map[column.strip()] = target.strip()
    return column_map


def columns_read_as(header: list[str], column_map: dict[str, str]) -> dict[str, str]:
    """What each column becomes: a field's name, or ``custom field``."""
    return {name: canonical_field(column_map.get(name, name)) or CUSTOM_FIELD for name in header}


def resumable(imp: dict[str, Any], now: datetime) -> bool:
    """Whether an import may be resumed: it failed, or it stopped unfinished (no progress
    for ``STALLED_AFTER``); never while it is running, which would apply rows twice."""
    if imp["status"] == "failed":
        return True
    stalled = now - imp["updated_at"] >= STALLED_AFTER
    return imp["status"] in ("pending", "running") and stalled


def row_payload(header: list[str], cells: list[str]) -> dict[str, Any]:
    """A row as the payload a webhook would have received: its non-empty cells by column
    (cells past the header's end are ignored)."""
    return {name: cell for name, cell in zip(header, cells, strict=False) if cell.strip()}


def row_digest(payload: dict[str, Any], column_map: dict[str, str]) -> str:
    """What makes two rows the same row: their cells and how they are read."""
    return hashlib.sha256(
        orjson.dumps([payload, column_map], option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def report_rows(refusals: list[dict[str, Any]], header: list[str]) -> Iterator[list[str]]:
    """The error report: the refused rows as they were, with their row number and the
    reason, for the user to fix and import again."""
    yield ["row_number", "reason", *header]
    for refusal in refusals:
        cells = refusal["row"]
        yield [str(refusal["row_number"]), refusal["reason"], *(cells.get(h, "") for h in header)]
