"""JSON encoding shared by responses and JSON columns (orjson, plus Decimal)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(content: Any) -> bytes:
    # Column names from SQLAlchemy rows are str subclasses, which orjson only takes as keys
    # with OPT_NON_STR_KEYS.
    return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


def json_text(content: Any) -> str:
    """JSON as text, for SQLAlchemy's JSON columns."""
    return dumps(content).decode()
