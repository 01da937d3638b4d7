"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB

from leadpipe.storage.dialect import stores_datetimes_as_text


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes; SQLite drops the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite compares datetimes as text: store them without an offset so they sort.
        return _naive_utc(value) if stores_datetimes_as_text(dialect.name) else _utc(value)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        return None if value is None else _aware_utc(value)

    def bind_processor(self, dialect: Dialect) -> Any:
        if stores_datetimes_as_text(dialect.name):
            return _sqlite_text_from_utc  # one C-level format, as result_processor parses
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if stores_datetimes_as_text(dialect.name):
            # SQLite hands back the stored text: one C-level parse instead of SQLAlchemy's
            # regular expression and a second pass (a page of leads has hundreds of these).
            return _utc_from_sqlite_text
        return super().result_processor(dialect, coltype)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)


def _naive_utc(value: datetime) -> datetime:
    return _utc(value).replace(tzinfo=None)


def _aware_utc(value: datetime) -> datetime:
    """A datetime read back: UTC, with its zone (SQLite keeps none, which means UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_text_from_utc(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores (UTC, no offset, six-digit fraction),
    which sorts and compares like the datetimes themselves."""
    return None if value is None else _naive_utc(value).isoformat(" ", "microseconds")


def _utc_from_sqlite_text(value: str | None) -> datetime | None:
    return None if value is None else _aware_utc(datetime.fromisoformat(value))


JSONType: Any = JSON().with_variant(JSONB(), "postgresql")
