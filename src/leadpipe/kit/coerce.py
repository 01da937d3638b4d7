"""Lenient coercion of form and JSON values sent by lead providers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_TRUE = {"true", "yes", "y", "1", "on", "checked", "agree", "agreed"}
_FALSE = {"false", "no", "n", "0", "off", "unchecked", ""}


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def to_text(value: Any) -> str | None:
    """A trimmed string, or None for blank values. Numbers become their plain text."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return None
    return str(value).strip()


def to_bool(value: Any) -> bool | None:
    """True/False from booleans, numbers and the words forms send; None when unknown."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


_MONEY_NOISE = re.compile(r"[\s$€£,]")


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal from ``25000``, ``"25,000"`` or ``"$25,000.50"``; None when not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    text = _MONEY_NOISE.sub("", str(value))
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def ascii_int(text: str, *, max_digits: int = 18) -> int | None:
    """The integer ``text`` writes in at most ``max_digits`` ASCII digits, or None.
    ``str.isdigit`` and ``int`` take other scripts' digits (``٣``), and ``isdigit``
    superscripts that ``int`` then refuses (``²``); thousands of digits cost ``int`` time,
    then an error. Headers, query strings and paths are read with this instead."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
