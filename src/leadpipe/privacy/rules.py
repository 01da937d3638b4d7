"""What of a person to find and erase in what leadpipe kept of their deliveries.

A person is found in a stored delivery by an identity (email, ignoring case, or phone in
any punctuation); once found, every value they gave (names, address, custom fields, ...)
is replaced by ``ERASED`` there. Values are looked for as sent and as a form body or a
JSON string escapes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

import phonenumbers

from leadpipe.payloads.mapping import CONTACT_TEXT_FIELDS

ERASED = "[erased]"
# Shorter values ("FL", "7") are too common to tell a person from anyone else.
SHORTEST_VALUE = 3
# The contact's columns that hold what the person gave (not where it came from), besides
# the phone, which is found by its digits however punctuated (``_phone_spans``).
PERSONAL_COLUMNS = ("crm_id", "email", *CONTACT_TEXT_FIELDS)
# Digits a phone may be written with between them: spaces, dots, dashes, parentheses and
# a plus, also as a form body escapes them (%20 space, %28 %29 parentheses, %2B plus).
_PHONE_RUN = re.compile(r"\d(?:(?:%2[089bB]|[ ().+\-])*\d)*")
_SEPARATOR = re.compile(r"%2[089bB]|[ ().+\-]")


@dataclass(frozen=True, slots=True)
class Phone:
    national: str  # national significant digits: 5551234567
    country_code: str  # 1

    @property
    def e164_digits(self) -> str:
        return self.country_code + self.national


@dataclass(frozen=True, slots=True)
class Person:
    """What identifies a person (emails, phones) and every value of theirs to erase."""

    emails: tuple[str, ...]
    phones: tuple[Phone, ...]
    values: tuple[str, ...]

    def pattern(self) -> re.Pattern[str] | None:
        return _pattern_of(self.values)


@lru_cache(maxsize=64)
def _pattern_of(values: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for every value and its escaped forms, longest first,
    so that a value inside another is not erased by halves."""
    forms = sorted({f for v in values for f in escaped_forms(v)}, key=len, reverse=True)
    if not forms:
        return None
    return re.compile("|".join(re.escape(f) for f in forms), re.IGNORECASE)


def phone_of(e164: str) -> Phone | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return Phone(str(number.national_number), str(number.country_code))


def person_of(contact: dict[str, Any]) -> Person:
    """The person a contact row (with its ``custom_fields``) is."""
    phone_number = contact.get("phone_number")
    phone = phone_of(phone_number) if phone_number else None
    values = [contact.get(c) for c in PERSONAL_COLUMNS]
    values += list(leaf_values(contact.get("custom_fields") or {}))
    texts = {str(v) for v in values if _is_value(v) and len(str(v)) >= SHORTEST_VALUE}
    if phone_number and phone is None:
        texts.add(phone_number)
    email = contact.get("email")
    return Person(
        emails=(email.lower(),) if email else (),
        phones=(phone,) if phone is not None else (),
        values=tuple(sorted(texts)),
    )


def _is_value(value: Any) -> bool:
    return value is not None and not isinstance(value, bool)


def leaf_values(value: Any) -> Iterator[Any]:
    """Every scalar in a JSON value (custom fields may nest lists and objects)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaf_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaf_values(item)
    else:
        yield value


def escaped_forms(value: str) -> set[str]:
    """A value as sent, in a form body, and inside a JSON string."""
    return {
        value,
        quote_plus(value),
        quote(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def holds_identity(text: str, person: Person) -> bool:
    """The text names the person by their email or their phone."""
    folded = text.lower()
    for email in person.emails:
        if any(form.lower() in folded for form in escaped_forms(email)):
            return True
    return any(_phone_spans(text, phone) for phone in person.phones)


def _phone_spans(text: str, phone: Phone) -> list[tuple[int, int]]:
    """Where the phone is written: its national digits, with the country code before them
    when it is there, and any punctuation between."""
    spans = []
    for run in _PHONE_RUN.finditer(text):
        digits, positions = _digits_of(run.group(), run.start())
        for digits_wanted in (phone.e164_digits, phone.national):
            at = digits.find(digits_wanted)
            if at >= 0:
                spans.append((positions[at], positions[at + len(digits_wanted) - 1] + 1))
                break
    return spans


def _digits_of(run: str, offset: int) -> tuple[str, list[int]]:
    digits, positions = [], []
    i = 0
    while i < len(run):
        separator = _SEPARATOR.match(run, i)
        if separator:
            i = separator.end()
            continue
        digits.append(run[i])
        positions.append(offset + i)
        i += 1
    return "".join(digits), positions


def redact_text(text: str, person: Person) -> tuple[str, int]:
    """The text with each of the person's values replaced by ``ERASED``; and how many."""
    spans = [s for phone in person.phones for s in _phone_spans(text, phone)]
    pattern = person.pattern()
    if pattern is not None:
        spans += [m.span() for m in pattern.finditer(text)]
    return _replaced(text, _merged(spans))


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _replaced(text: str, spans: list[tuple[int, int]]) -> tuple[str, int]:
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], ERASED]
        last = end
    parts.append(text[last:])
    return "".join(parts), len(spans)


def redact_bytes(body: bytes, person: Person) -> tuple[bytes, int]:
    """A body with the person's values erased, still readable as it was: JSON through
    its values (a phone sent as a number becomes a string), anything else as text, with
    the bytes that are not UTF-8 left as they were."""
    try:
        value, count = redact_json(json.loads(body), person)
        redacted = json.dumps(value, ensure_ascii=False).encode() if count else body
    except (ValueError, RecursionError):  # not JSON (UnicodeError is a ValueError)
        text, count = redact_text(body.decode("utf-8", "surrogateescape"), person)
        redacted = text.encode("utf-8", "surrogateescape") if count else body
    return redacted, count


def redact_json(value: Any, person: Person) -> tuple[Any, int]:
    """``redact_text`` over every string (keys too) in a JSON value."""
    if isinstance(value, str):
        return redact_text(value, person)
    if isinstance(value, list):
        items = [redact_json(v, person) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, dict):
        count, out = 0, dict[str, Any]()
        for key, item in value.items():
            new_key, n_key = redact_text(key, person)
            new_item, n_item = redact_json(item, person)
            out[new_key] = new_item
            count += n_key + n_item
        return out, count
    if _is_value(value) and isinstance(value, int | float):
        text, count = redact_text(str(value), person)
        return (text if count else value), count
    return value, 0


def json_text(value: Any) -> str:
    """A JSON value as text, for ``holds_identity``."""
    return json.dumps(value, ensure_ascii=False, default=str)
