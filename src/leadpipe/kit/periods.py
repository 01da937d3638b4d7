"""Bounds of a period asked for in a query string: a date-time with its offset, or a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, PlainValidator, TypeAdapter, WithJsonSchema

_MOMENT: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)
_FORMS = "a date-time with an offset (2026-10-01T09:00:00-05:00) or a date (2026-10-01, UTC)"


def _moment_or_day(value: Any) -> datetime | date:
    """One clear error for either form, instead of one per form tried."""
    if isinstance(value, datetime | date):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text) if len(text) == 10 else _MOMENT.validate_python(text)
    except ValueError:
        raise ValueError(f"expected {_FORMS}") from None


# A query parameter that bounds a period.
PeriodBound = Annotated[
    datetime | date,
    PlainValidator(_moment_or_day),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]
START_DOC = f"From this moment on: {_FORMS}"
END_DOC = f"Before this moment: {_FORMS}; a date includes that whole day"


def start_of(bound: datetime | date | None) -> datetime | None:
    """The first moment of a period starting at ``bound`` (a date: its midnight, UTC)."""
    if bound is None or isinstance(bound, datetime):
        return bound
    return datetime.combine(bound, time(), UTC)


def end_of(bound: datetime | date | None) -> datetime | None:
    """The exclusive end of a period up to ``bound``: a date counts as a whole day, so
    ``created_to=2026-10-31`` includes the leads of October 31st."""
    if bound is None or isinstance(bound, datetime):
        return bound
    return datetime.combine(bound + timedelta(days=1), time(), UTC)
