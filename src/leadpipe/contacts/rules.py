"""Contact identity: phone and email normalisation, and which existing contact matches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypedDict

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class MatchType(StrEnum):
    CRM_ID = "crm_id"
    PHONE = "phone"
    EMAIL = "email"
    NEW = "new"


class InvalidIdentity(ValueError):
    pass


@lru_cache(maxsize=8192)  # repeat deliveries carry the same numbers and addresses
def normalize_phone(raw: str, default_region: str = "US") -> str:
    """E.164 for a phone written any usual way; raises InvalidIdentity when it cannot be one.

    ``(555) 123-4567`` and ``1-555-123-4567`` are ``+15551234567`` in the US; an explicit
    ``+61…`` stays Australian. Only numbers valid for their region are taken: ``0412 345
    678`` read as American would become a number nobody can dial, stored as if right.
    Example numbers are taken too (DESIGN §2.3): lead forms and their tests use them.
    """
    region = default_region.upper()
    number = _dialable(raw, region)
    if number is None and raw.strip().startswith("+"):
        # Forms prepend "+" to national numbers ("+1234567890" for 123-456-7890): when the
        # number is impossible as international, read its digits as national (as the sibling
        # intake did) before refusing it.
        number = _dialable(raw.strip()[1:], region)
    if number is None:
        raise InvalidIdentity(f"is not a valid phone number in {_region_name(raw, region)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_search(raw: str, region: str) -> str | None:
    """The E.164 form to look a phone up by: as ``normalize_phone`` stores it, or, for a
    number that is possible but not valid (kept by an older leadpipe, or imported), the
    same digits in E.164, so that a search still finds it. None when it is no phone."""
    try:
        return normalize_phone(raw, region)
    except InvalidIdentity:
        pass
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if (
        phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_as_read(phone: str, region: str) -> str:
    """A stored (E.164) phone as people read it: national for a number of the workspace's
    country (``(626) 788-2686`` in the US), international for another's (``+61 412 345
    678``); as stored when it is no phone libphonenumber can read."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    at_home = number.country_code == phonenumbers.country_code_for_region(region.upper())
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, style.NATIONAL if at_home else style.INTERNATIONAL)


def _region_name(raw: str, region: str) -> str:
    return "its country" if raw.strip().startswith("+") else region


def _dialable(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return number
    # IS_POSSIBLE_LOCAL_ONLY (e.g. 555-1234) is refused: without an area code nobody can dial it.
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == phonenumbers.ValidationResult.IS_POSSIBLE and _fictional(number):
        return number
    return None


# Numbers for examples and tests that libphonenumber does not count as valid: North
# America's 555 area code, and seed 001's test number (+1 123-456-7890).
_FICTIONAL_PREFIXES = ("555", "1234567890")


def _fictional(number: phonenumbers.PhoneNumber) -> bool:
    return number.country_code == 1 and str(number.national_number).startswith(_FICTIONAL_PREFIXES)


def is_phone_region(region: str) -> bool:
    """Whether phones can be read in this ISO 3166 alpha-2 region (``AU``, ``MX``)."""
    return region in phonenumbers.SUPPORTED_REGIONS


@lru_cache(maxsize=8192)
def normalize_email(raw: str) -> str:
    """The address checked for syntax and lower-cased whole (DESIGN §1: identity)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity(str(exc)) from exc
    return result.normalized.lower()


@dataclass(frozen=True, slots=True)
class Identity:
    crm_id: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ContactIdentity:
    id: uuid.UUID
    crm_id: str | None
    phone: str | None
    email: str | None


def holds_any(contact: ContactIdentity, identity: Identity) -> bool:
    """Whether the contact holds the identity's CRM id, phone or email."""
    return bool(
        (identity.crm_id and contact.crm_id == identity.crm_id)
        or (identity.phone and contact.phone == identity.phone)
        or (identity.email and contact.email == identity.email)
    )


def choose_match(
    identity: Identity, candidates: Sequence[ContactIdentity]
) -> tuple[ContactIdentity | None, MatchType]:
    """The contact this identity belongs to: CRM id first, then phone, then email (DESIGN §2.1)."""
    for attr, match in (
        ("crm_id", MatchType.CRM_ID),
        ("phone", MatchType.PHONE),
        ("email", MatchType.EMAIL),
    ):
        wanted = getattr(identity, attr)
        if wanted is None:
            continue
        for candidate in candidates:
            if getattr(candidate, attr) == wanted:
                return candidate, match
    return None, MatchType.NEW


def identity_updates(
    identity: Identity, matched: ContactIdentity, candidates: Sequence[ContactIdentity]
) -> dict[str, str]:
    """Identity fields to write on the matched contact.

    A phone, email or CRM id already owned by another contact stays with that contact:
    taking it would break the one-contact-per-identity rule, so it is left out.
    """
    columns = {"crm_id": "crm_id", "phone": "phone_number", "email": "email"}
    updates: dict[str, str] = {}
    for attr, column in columns.items():
        wanted = getattr(identity, attr)
        if wanted is None or getattr(matched, attr) == wanted:
            continue
        owned_elsewhere = any(getattr(c, attr) == wanted and c.id != matched.id for c in candidates)
        if not owned_elsewhere:
            updates[column] = wanted
    return updates


def new_contact(
    *,
    contact_id: uuid.UUID,
    workspace_id: str,
    scope: str,
    identity: Identity,
    fields: dict[str, Any],
    custom_fields: dict[str, Any],
    metadata: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The row of a new contact, as intake and the contact API both insert it. ``scope``
    is the dedup scope: "" (the workspace) or the id of a webhook that dedupes alone."""
    return {
        **fields,
        "id": contact_id,
        "workspace_id": workspace_id,
        "identity_scope": scope,
        "crm_id": identity.crm_id,
        "phone_number": identity.phone,
        "email": identity.email,
        "custom_fields": custom_fields,
        "metadata": metadata,
        "created_at": now,
        "updated_at": now,
    }


class SearchTerms(TypedDict, total=False):
    """What a search box's text is looked up as: one of them, or text with a phone ending."""

    email: str
    phone: str
    text: str
    phone_ending: str  # reversed digits, with ``text``: a contact matching either is found


def search_terms(q: str, region: str) -> SearchTerms:
    """What a free-text search means: an email, a phone in any format (``1-626-788-8830``
    finds ``+16267888830``), the last 4 or more digits of phones (``2686``, ``737-2686``),
    or text matched against CRM ids, names and emails (part of an address: ``jane.smith``,
    ``@example.com``)."""
    q = q.strip()
    if "@" in q:
        try:
            return {"email": normalize_email(q)}
        except InvalidIdentity:
            return {"text": q}
    if sum(ch.isdigit() for ch in q) >= 7 and (phone := phone_for_search(q, region)):
        return {"phone": phone}
    if (digits := typed_digits(q)) is not None and len(digits) >= PHONE_ENDING_DIGITS:
        # The end of a phone ("2686", "737-2686"); digits are text too (a CRM id, an email).
        return {"text": q, "phone_ending": digits[::-1]}
    return {"text": q}


# A search of at least this many digits finds the phones that end with them: fewer would
# match a good part of a large workspace's phones.
PHONE_ENDING_DIGITS = 4
_TYPED_IN_PHONES = str.maketrans("", "", " -.()")


def typed_digits(q: str) -> str | None:
    """The digits of a search typed as a phone or its end (``737-2686``, ``(626) 788``,
    ``+1 626``): spaces, dashes, dots, parentheses and a leading ``+`` dropped. None when
    anything else is left."""
    digits = q.strip().removeprefix("+").translate(_TYPED_IN_PHONES)
    return digits if digits.isascii() and digits.isdigit() else None


def reversed_digits(phone: str | None) -> str | None:
    """A phone's digits back to front (``+16267882686`` → ``68628876261``), as contacts
    store them beside the phone: a search for its last digits is then a prefix of this,
    which an ordinary index answers."""
    if phone is None:
        return None
    return "".join(ch for ch in reversed(phone) if ch.isascii() and ch.isdigit()) or None


def after_prefix(prefix: str) -> str | None:
    """The first digit string after every string that starts with ``prefix`` (``6862`` →
    ``6863``, ``6869`` → ``687``); None after ``999…``. A range ``>= prefix, < this`` is a
    prefix search that any collation and index compares alike, as LIKE would not."""
    kept = prefix.rstrip("9")
    if not kept:
        return None
    return kept[:-1] + chr(ord(kept[-1]) + 1)
