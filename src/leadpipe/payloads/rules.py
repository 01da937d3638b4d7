"""What a delivery says, checked field by field: identity, contact and lead values,
warnings for what cannot be read.

Pure: no database, no HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from leadpipe.contacts.rules import (
    Identity,
    InvalidIdentity,
    is_phone_region,
    normalize_email,
    normalize_phone,
)
from leadpipe.errors import field_error
from leadpipe.kit.coerce import is_blank, read_number, to_bool, to_text
from leadpipe.kit.fields import MAX_MONEY, TEXT_LIMITS, money, too_long
from leadpipe.payloads.mapping import (
    CONTACT_TEXT_FIELDS,
    KEY_NOISE,
    LEAD_TEXT_FIELDS,
    PRIORITIES,
    TEMPERATURES,
    Extracted,
)


@dataclass(frozen=True, slots=True)
class Appointment:
    date: str
    time: str | None
    status: str | None

    @property
    def title(self) -> str:
        return f"Appointment: {self.date} {self.time}" if self.time else f"Appointment: {self.date}"


@dataclass(frozen=True, slots=True)
class Submission:
    """A validated, normalised payload."""

    identity: Identity
    contact: dict[str, str]
    custom_fields: dict[str, Any]
    source: str | None
    sub_source: str | None
    product: str | None
    status: str | None
    notes: str | None
    lead: dict[str, Any]
    appointment: Appointment | None
    ip_address: str | None
    user_agent: str | None
    lost_reason: str | None = None
    # Optional values that could not be stored as their fields, kept in custom_fields.
    warnings: tuple[dict[str, Any], ...] = ()


def _split_full_name(full: str) -> tuple[str, str | None]:
    first, _, last = full.strip().partition(" ")
    return first, (last.strip() or None)


def _tags(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [str(v).strip() for v in value if not is_blank(v)]
    text = to_text(value)
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


class _Reading:
    """What ``validate`` learns of a payload: problems that refuse it (identity only),
    and warnings about optional values kept as sent in ``custom_fields`` instead."""

    def __init__(self, extracted: Extracted) -> None:
        self.fields = extracted.fields
        self.custom_fields = dict(extracted.custom_fields)
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []

    def keep_as_sent(self, name: str, problem: str, *, field: str | None = None) -> None:
        """An optional value that cannot be stored as its field: kept, never lost. The
        warning names ``field`` when the API calls the field otherwise (``phone_number``)."""
        self.custom_fields[name] = self.fields[name]
        self.warnings.append(
            field_error(field or name, f"{problem}; kept as sent in custom_fields")
        )

    def text(self, name: str) -> str | None:
        """The field as text, or None when it is missing, not text or too long to store."""
        if _is_structured(self.fields.get(name)):
            self.keep_as_sent(name, NOT_TEXT)
            return None
        value = to_text(self.fields.get(name))
        if value is not None and (limit := too_long(name, value)) is not None:
            self.keep_as_sent(name, f"is longer than {limit} characters")
            return None
        return value


_PROBLEM_FIELDS = {"phone_number": "phone", "email": "email", "crm_id": "crm_id"}


NOT_TEXT = "is a list or an object, not text"


def _is_structured(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _identity(r: _Reading, region: str) -> tuple[Identity, list[dict[str, Any]]]:
    """The payload's identity, and the problems of the identity values it could not use."""
    problems = [
        field_error(field, NOT_TEXT)
        for field, name in _PROBLEM_FIELDS.items()
        if _is_structured(r.fields.get(name))
    ]
    phone = email = crm_id = None
    if (raw := to_text(r.fields.get("phone"))) is not None:
        try:
            if too_long("phone", raw):
                raise InvalidIdentity("is not a phone number (too long)")
            phone = normalize_phone(raw, region)
        except InvalidIdentity as exc:
            problems.append(field_error("phone_number", f"'{raw[:40]}' {exc}"))
    if (raw := to_text(r.fields.get("email"))) is not None:
        try:
            if too_long("email", raw):
                raise InvalidIdentity("it is too long")
            email = normalize_email(raw)
        except InvalidIdentity as exc:
            problems.append(
                field_error("email", f"'{raw[:80]}' is not a valid email address: {exc}")
            )
    if (raw := to_text(r.fields.get("crm_id"))) is not None:
        if too_long("crm_id", raw):
            problems.append(field_error("crm_id", "is longer than 255 characters"))
        else:
            crm_id = raw
    return Identity(crm_id=crm_id, phone=phone, email=email), problems


def _choice(r: _Reading, name: str, allowed: tuple[str, ...]) -> str | None:
    text = r.text(name)
    if text is None:
        return None
    if text.lower() not in allowed:
        r.keep_as_sent(name, f"'{text[:40]}' is not one of {', '.join(allowed)}")
        return None
    return text.lower()


def _amount(r: _Reading, name: str) -> Decimal | None:
    """The field as an amount of money (``$100k``, ``12,500.00``), or None with a warning
    that says why it is none: not a number, or a number out of range."""
    read = read_number(r.fields[name])
    if read.number is None:
        r.keep_as_sent(name, read.problem or "is not a number")
        return None
    amount = money(read.number)
    if amount is None:
        r.keep_as_sent(name, f"{read.number} is not an amount from 0 to {MAX_MONEY}")
    return amount


def _lead_fields(r: _Reading) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for name in LEAD_TEXT_FIELDS:
        if (text := r.text(name)) is not None:
            lead[name] = text
    if "estimated_value" in r.fields and (amount := _amount(r, "estimated_value")) is not None:
        lead["estimated_value"] = amount
    for name in ("consent_value", "tcpa_compliance"):
        if name in r.fields:
            flag = to_bool(r.fields[name])
            if flag is None:
                r.keep_as_sent(name, "is not a yes or no")
            else:
                lead[name] = flag
    if (priority := _choice(r, "priority", PRIORITIES)) is not None:
        lead["priority"] = priority
    if (temperature := _choice(r, "temperature", TEMPERATURES)) is not None:
        lead["temperature"] = temperature
    if "tags" in r.fields and (tags := _tags(r.fields["tags"])) is not None:
        if any(too_long("tag", t) for t in tags):
            r.keep_as_sent("tags", f"has a tag longer than {TEXT_LIMITS['tag']} characters")
        else:
            lead["tags"] = tags
    return lead


# Where a payload says which country the person is in (kept in custom_fields as sent).
_COUNTRY_KEYS = frozenset({"country", "countrycode", "countryiso", "countryname"})
_COUNTRY_NAMES = {
    "usa": "US",
    "unitedstates": "US",
    "unitedstatesofamerica": "US",
    "canada": "CA",
    "mexico": "MX",
    "méxico": "MX",
    "australia": "AU",
    "newzealand": "NZ",
    "unitedkingdom": "GB",
    "uk": "GB",
    "greatbritain": "GB",
    "england": "GB",
    "ireland": "IE",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
    "brazil": "BR",
    "india": "IN",
    "philippines": "PH",
    "southafrica": "ZA",
    "puertorico": "PR",
}


def payload_region(custom_fields: dict[str, Any]) -> str | None:
    """The phone region a payload's own country field names (``AU``, ``Mexico``), if any."""
    for key, value in custom_fields.items():
        if KEY_NOISE.sub("", key.lower()) not in _COUNTRY_KEYS:
            continue
        text = to_text(value)
        if text is None:
            continue
        region = region_code(text)
        if region is not None:
            return region
    return None


def region_code(country: str) -> str | None:
    """An ISO 3166 alpha-2 code phones can be read in, from a code or a common name."""
    compact = re.sub(r"[\s.\-_]", "", country.lower())
    if len(compact) == 2 and is_phone_region(compact.upper()):
        return compact.upper()
    return _COUNTRY_NAMES.get(compact)


def validate(
    extracted: Extracted, *, region: str, require_phone: bool
) -> tuple[Submission | None, list[dict[str, Any]]]:
    """A Submission, or the field errors that refuse the payload (each naming its field).

    Only identity refuses (DESIGN §2.12): no usable phone, email or CRM id, or no phone
    where the webhook requires one. Every other value that cannot be stored as its field
    is kept as sent in ``custom_fields``, and named in the Submission's warnings."""
    r = _Reading(extracted)
    identity, problems = _identity(r, payload_region(r.custom_fields) or region)
    phone_problem = [p for p in problems if p["field"] == "phone_number"]
    if require_phone and identity.phone is None:
        return None, phone_problem or [field_error("phone_number", "is required by this webhook")]
    if not (identity.phone or identity.email or identity.crm_id):
        return None, problems or [field_error("phone_number", "phone_number or email is required")]
    for problem in problems:  # the identity the payload has is enough: keep the rest
        field = problem["field"]
        r.keep_as_sent(_PROBLEM_FIELDS[field], problem["message"], field=field)

    contact = {n: t for n in CONTACT_TEXT_FIELDS if (t := r.text(n)) is not None}
    if "firstname" not in contact and (full := r.text("fullname")):
        first, last = _split_full_name(full)
        contact["firstname"] = first[: TEXT_LIMITS["firstname"]]
        if last and "lastname" not in contact:
            contact["lastname"] = last[: TEXT_LIMITS["lastname"]]
    lead = _lead_fields(r)
    appointment = None
    if (adate := r.text("appointment_date")) is not None:
        appointment = Appointment(adate, r.text("appointment_time"), r.text("appointment_status"))
    return Submission(
        identity=identity,
        contact=contact,
        custom_fields=r.custom_fields,
        source=r.text("source"),
        sub_source=r.text("sub_source"),
        product=r.text("product"),
        status=r.text("status"),
        notes=contact.get("notes"),
        lead=lead,
        appointment=appointment,
        ip_address=r.text("ip_address"),
        user_agent=r.text("user_agent"),
        lost_reason=r.text("lost_reason"),
        warnings=tuple(r.warnings),
    ), []


# The fields a webhook may require, and where a submission holds each.
REQUIRABLE = (
    "phone_number",
    "email",
    "crm_id",
    "firstname",
    "lastname",
    "address",
    "city",
    "state",
    "zip_code",
    "product",
    "source",
)


def missing_required(sub: Submission, required: list[str]) -> list[dict[str, Any]]:
    """A field error for each field the webhook requires that the submission lacks."""
    held = {
        "phone_number": sub.identity.phone,
        "email": sub.identity.email,
        "crm_id": sub.identity.crm_id,
        "product": sub.product,
        "source": sub.source,
        **sub.contact,
    }
    return [
        field_error(name, "is required by this webhook") for name in required if not held.get(name)
    ]
