"""Lenient coercion of form and JSON values sent by lead providers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
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


@dataclass(frozen=True, slots=True)
class NumberRead:
    """What a sent value reads as: a number, or why it is none."""

    number: Decimal | None
    problem: str | None = None


# A number as forms and people write it: a sign, a currency symbol, digits grouped in
# thousands by commas or not, a fraction, and a magnitude (``$100k``, ``1.2M``).
_WRITTEN_NUMBER = re.compile(
    r"""(?P<sign>[-+]?)[$€£]?(?P<sign2>[-+]?)
    (?P<digits>\d{1,3}(?:,\d{3})+|\d*)(?P<fraction>\.\d*)?
    (?:(?P<magnitude>[kmb]|mm|bn)|(?P<exponent>e[-+]?\d{1,3}))?""",
    re.IGNORECASE | re.VERBOSE,
)
_MAGNITUDES = {"k": 3, "m": 6, "mm": 6, "b": 9, "bn": 9}
_CURRENCY_CODES = re.compile(r"^(?:usd|eur|gbp|cad|aud)\s*|\s*(?:usd|eur|gbp|cad|aud)$", re.I)
_RANGE = re.compile(r"[\dkmb]\s*(?:-|\u2013|to)\s*[$€£]?\d", re.IGNORECASE)  # - or en dash
# Longer than any amount a form sends; past it, ``Decimal`` would only spend time.
_MAX_NUMBER_TEXT = 40


def read_number(value: Any) -> NumberRead:
    """``value`` as a number: ``25000``, ``"25,000"``, ``"$12,500.00"``, ``"$100k"``,
    ``"12.5K"``, ``"1.2M"``, ``"100 USD"``; or, when it is none, why (in words for a
    warning)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return NumberRead(None, "is not a number")
    if isinstance(value, (int, Decimal, float)):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return NumberRead(number) if number.is_finite() else NumberRead(None, "is not finite")
    text = str(value).strip()
    if len(text) > _MAX_NUMBER_TEXT:
        return NumberRead(None, f"is longer than {_MAX_NUMBER_TEXT} characters")
    shown = f"'{text}'"
    if _RANGE.search(text):
        return NumberRead(None, f"{shown} is a range, not one number")
    compact = re.sub(r"\s+", "", _CURRENCY_CODES.sub("", text))
    written = _WRITTEN_NUMBER.fullmatch(compact)
    if written is None or not (written["digits"] or (written["fraction"] or "")[1:]):
        return NumberRead(None, f"{shown} is not a number")
    if written["sign"] and written["sign2"]:
        return NumberRead(None, f"{shown} is not a number")
    digits = written["digits"].replace(",", "") + (written["fraction"] or "")
    number = Decimal((digits or "0") + (written["exponent"] or ""))
    if written["magnitude"]:
        # Multiplied, not scaled: ``100k`` is 100000, not 1.00E+5.
        number *= 10 ** _MAGNITUDES[written["magnitude"].lower()]
    negative = "-" in (written["sign"], written["sign2"])
    return NumberRead(-number if negative else number)


def to_decimal(value: Any) -> Decimal | None:
    """``read_number``'s number, or None."""
    return read_number(value).number


def ascii_int(text: str, *, max_digits: int = 18) -> int | None:
    """The integer ``text`` writes in at most ``max_digits`` ASCII digits, or None.
    ``str.isdigit`` and ``int`` take other scripts' digits (``٣``), and ``isdigit``
    superscripts that ``int`` then refuses (``²``); thousands of digits cost ``int`` time,
    then an error. Headers, query strings and paths are read with this instead."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
