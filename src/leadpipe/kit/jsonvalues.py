"""JSON values a database can store exactly, and reading JSON without changing a number.

Three kinds of value in decoded JSON break or bend on the way to a column:

- text holding a NUL character (PostgreSQL refuses it in text and JSON alike) or a lone
  UTF-16 surrogate (``"\\ud800"``: not encodable as UTF-8, so no driver can send it);
- an integer beyond 64 bits, which the JSON encoder cannot write (and orjson reads as a
  float, changing it);
- a number that is not finite (``NaN``, ``Infinity``, ``1e400``), which JSON has no
  way to write (the encoder writes ``null``).

The API refuses all three (a person can fix the value); webhook intake refuses the first
and keeps the others as the text sent, with a warning (DESIGN §2.12): see
``loads_as_sent``. Every walk here is iterative: a value may nest deeper than Python's
stack.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

# The integers the JSON encoder (orjson) writes and reads back as integers.
MIN_INT = -(2**63)
MAX_INT = 2**64 - 1

NUL_MESSAGE = "must not contain NUL characters (\\u0000)"
SURROGATE_MESSAGE = "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)"
BIG_INT_MESSAGE = "must be an integer within 64 bits"
NOT_FINITE_MESSAGE = "must be a finite number (not NaN or Infinity)"

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Unstorable:
    """A value that cannot be stored as sent: where (``a.b[0]``; empty for the value
    itself) and why, in words for the sender."""

    path: str
    message: str


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL character, a lone surrogate), or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    if not text.isascii() and _SURROGATE.search(text):
        return SURROGATE_MESSAGE
    return None


def number_problem(value: Any) -> str | None:
    """Why a number cannot be stored exactly (an integer beyond 64 bits, NaN or an
    infinity), or None; None for anything that is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if MIN_INT <= value <= MAX_INT else BIG_INT_MESSAGE
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_FINITE_MESSAGE
    return None


def unstorable_text(value: Any) -> list[Unstorable]:
    """Every key or string of a JSON value holding a NUL character or a lone surrogate."""
    return _walk(value, numbers=False)


def unstorable_values(value: Any) -> list[Unstorable]:
    """Every key, string or number of a JSON value that cannot be stored exactly: the
    rule the API applies to its free-form JSON (custom fields, activity data, settings)."""
    return _walk(value, numbers=True)


def _walk(value: Any, *, numbers: bool) -> list[Unstorable]:
    found: list[Unstorable] = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, here = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
        elif isinstance(node, dict):
            problem = None
            for key, item in node.items():
                where = _child(here, str(key))
                key_problem = text_problem(str(key))
                if key_problem is not None:
                    found.append(Unstorable(printable(where), key_problem))
                else:
                    stack.append((item, where))
        elif isinstance(node, list):
            problem = None
            stack.extend((item, f"{here}[{i}]") for i, item in enumerate(node))
        else:
            problem = number_problem(node) if numbers else None
        if problem is not None:
            found.append(Unstorable(here, problem))
    return sorted(found, key=lambda u: u.path)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def printable(text: str) -> str:
    """``text`` with its NUL characters and lone surrogates escaped (``\\u0000``,
    ``\\ud800``), so that it can be shown, logged and stored."""
    if "\x00" not in text and (text.isascii() or not _SURROGATE.search(text)):
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text.replace("\x00", "\\u0000"))


# -- reading JSON as sent --------------------------------------------------------------

# orjson reads an integer beyond 64 bits as a float (changed, silently), and refuses NaN,
# Infinity and numbers too large for a float. An integer needs at least 19 digits to
# leave orjson's range; a body with none, and one orjson reads, is read by orjson alone.
# Looked for as a run of 19 zeros in the body with each digit made a zero and every other
# byte a space: a tenth of the time a regular expression takes.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"0" * 19
_MAX_DIGITS = len(str(MAX_INT))


class NotJson(ValueError):
    """Bytes or text that are not JSON; the message says where."""


class NestsTooDeep(NotJson):
    """JSON nested deeper than a reader can follow (more than about 1,000 levels)."""


class AsSent(str):
    """A number kept as the text it was sent as (read back from JSON as a string)."""


@dataclass(frozen=True, slots=True)
class ReadJson:
    """Decoded JSON, and the paths of its numbers kept as the text sent because they
    cannot be stored as numbers (an integer beyond 64 bits, NaN, Infinity, 1e400)."""

    value: Any
    kept_as_text: list[str]


def loads_as_sent(data: bytes | str) -> ReadJson:
    """JSON decoded without changing a value: an integer beyond 64 bits and a number
    that is not finite become the exact text sent (``"1180591620717411303424"``,
    ``"NaN"``), named in ``kept_as_text``. Text is not checked here (see
    ``unstorable_text``). Raises ``NotJson`` when ``data`` is not JSON,
    ``NestsTooDeep`` (a ``NotJson``) when it nests too deep to be read."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _LONG_RUN not in raw.translate(_DIGITS_AS_ZEROS):
        try:
            return ReadJson(orjson.loads(raw), [])
        except orjson.JSONDecodeError:
            pass  # perhaps NaN or Infinity, which only the lenient reader takes
    try:
        text = raw.decode("utf-8", "surrogatepass") if isinstance(data, bytes) else data
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=AsSent)
    except RecursionError:
        raise NestsTooDeep("JSON nests too deep to be read") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # orjson's message when it has one: it says the same, with the position.
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as precise:
            raise NotJson(str(precise)) from None
        raise NotJson(str(exc)) from None
    return ReadJson(*_plain(value))


def _integer(text: str) -> int | str:
    # Past 20 digits it cannot fit, and int() of thousands of digits is slow or refused.
    if len(text.lstrip("-")) > _MAX_DIGITS:
        return AsSent(text)
    number = int(text)
    return number if MIN_INT <= number <= MAX_INT else AsSent(text)


def _float(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else AsSent(text)


def numbers_as_text(value: Any) -> ReadJson:
    """``value`` (JSON decoded by another reader) with each number that cannot be stored
    exactly replaced by its text, as ``loads_as_sent`` would have read it: an integer
    beyond 64 bits by its exact decimal digits, NaN and the infinities by their JSON
    words. Changes ``value`` in place."""
    return ReadJson(*_replaced(value, _number_text))


def _number_text(value: Any) -> str | None:
    if number_problem(value) is None:
        return None
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return str(value)


def _as_sent_text(value: Any) -> str | None:
    return str(value) if isinstance(value, AsSent) else None


def _plain(value: Any) -> tuple[Any, list[str]]:
    """``value`` with its ``AsSent`` strings made plain ``str``, and their paths."""
    return _replaced(value, _as_sent_text)


def _replaced(value: Any, text_of: Callable[[Any], str | None]) -> tuple[Any, list[str]]:
    """``value`` with each leaf that ``text_of`` gives a text for replaced by it, and
    the paths replaced."""
    kept: list[str] = []
    top = text_of(value)
    if top is not None:
        return top, [""]
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, here = stack.pop()
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, item in list(items):
            where = f"{here}[{key}]" if isinstance(node, list) else _child(here, str(key))
            text = text_of(item)
            if text is not None:
                node[key] = text
                kept.append(printable(where))
            else:
                stack.append((item, where))
    return value, sorted(kept)
