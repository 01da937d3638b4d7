"""From a provider's payload to canonical fields: aliases, per-webhook paths, validation.

Pure: no database, no HTTP. The service turns the result into contact and lead writes.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadpipe.contacts.rules import (
    Identity,
    InvalidIdentity,
    is_phone_region,
    normalize_email,
    normalize_phone,
)
from leadpipe.errors import field_error
from leadpipe.kit.coerce import is_blank, to_bool, to_decimal, to_text
from leadpipe.kit.fields import MAX_MONEY, TEXT_LIMITS, money, too_long

# Canonical field → the spellings providers use (seeds 000-002 and sibling systems). Keys
# are compared after lower-casing and dropping everything but letters and digits, so
# ``first_name``, ``firstName`` and ``First-Name`` are one spelling.
ALIASES: dict[str, tuple[str, ...]] = {
    "firstname": ("firstname", "fname", "givenname"),
    "lastname": ("lastname", "lname", "surname", "familyname"),
    "fullname": ("name", "fullname"),
    "email": ("email", "emailaddress", "mail"),
    "phone": (
        "phonenumber",
        "phone",
        "mobile",
        "mobilephone",
        "cellphone",
        "cell",
        "telephone",
        "tel",
        "primaryphone",
    ),
    "crm_id": ("crmid", "externalcrmid", "externalid"),
    "address": ("address", "address1", "staddress", "streetaddress", "street"),
    "address2": ("address2", "apt", "suite", "unit"),
    "city": ("city", "town"),
    "state": ("state", "statecode", "province"),
    "zip_code": ("zip", "zipcode", "postalcode", "postcode"),
    "notes": ("notes", "note", "comments", "comment", "message"),
    "source": ("source", "leadsource"),
    "sub_source": ("subsource",),
    "product": ("productid", "product", "productinterest", "interest", "productname"),
    "status": ("leadstatus", "status"),
    "lost_reason": ("lostreason", "reasonlost", "lossreason", "closedlostreason"),
    "utm_source": ("utmsource",),
    "utm_medium": ("utmmedium",),
    "utm_campaign": ("utmcampaign",),
    "utm_term": ("utmterm",),
    "utm_content": ("utmcontent",),
    "campaign_id": ("campaignid",),
    "landing_page_url": ("landingpageurl", "landingpage", "pageurl"),
    "conversion_event": ("conversionevent",),
    "appointment_date": ("adate", "appointmentdate"),
    "appointment_time": ("atime", "appointmenttime"),
    "appointment_status": ("appointmentstatus",),
    "consent_description": ("consentdescription", "consenttext"),
    "consent_value": ("consentvalue",),
    "tcpa_compliance": ("tcpacompliance", "tcpa", "tcpaconsent"),
    "estimated_value": ("estimatedvalue", "dealvalue", "revenuepotential"),
    "priority": ("priority",),
    "temperature": ("temperature",),
    "timeline": ("timeline",),
    "budget_range": ("budgetrange", "budget"),
    "service_type": ("servicetype",),
    "lead_type": ("leadtype",),
    "tags": ("tags",),
    "ip_address": ("ipaddress", "ip"),
    "user_agent": ("useragent",),
}

_ALIAS_TO_FIELD = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_ALIAS_TO_FIELD.update({name.replace("_", ""): name for name in ALIASES})

_KEY_NOISE = re.compile(r"[^a-z0-9]")

PRIORITIES = ("low", "medium", "high", "urgent")
TEMPERATURES = ("cold", "warm", "hot")

CONTACT_TEXT_FIELDS = (
    "firstname",
    "lastname",
    "address",
    "address2",
    "city",
    "state",
    "zip_code",
    "notes",
)
LEAD_TEXT_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "campaign_id",
    "landing_page_url",
    "conversion_event",
    "timeline",
    "budget_range",
    "service_type",
    "lead_type",
    "consent_description",
)


def canonical_field(key: str) -> str | None:
    """The canonical field a payload key (or a mapping target) stands for, if any."""
    return _ALIAS_TO_FIELD.get(_KEY_NOISE.sub("", key.lower()))


_MISSING = object()
_PATH_PART = re.compile(r"[^.\[\]]+")


def _path_parts(path: str) -> list[str]:
    return _PATH_PART.findall(path.removeprefix("$").lstrip("."))


def get_path(payload: Any, path: str) -> Any:
    """The value at ``customer.personal.firstName`` / ``$.items[0].zip``, or _MISSING."""
    node = payload
    for part in _path_parts(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _drop_path(payload: dict[str, Any], path: str) -> None:
    """Remove a mapped value, and the objects it leaves empty, from the unmapped rest."""
    parts = _path_parts(path)
    trail: list[tuple[dict[str, Any], str]] = []
    node: Any = payload
    for part in parts[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return
        trail.append((node, part))
        node = node[part]
    if isinstance(node, dict):
        node.pop(parts[-1], None)
    for parent, key in reversed(trail):
        if parent[key] == {}:
            del parent[key]


@dataclass(slots=True)
class Extracted:
    fields: dict[str, Any] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)


def extract(payload: dict[str, Any], mapping: dict[str, str]) -> Extracted:
    """Split a payload into canonical fields and the rest (DESIGN §2.8: never dropped).

    Per-webhook mapping paths win over aliases; the first non-blank alias wins over later
    ones; what nothing maps is kept, as sent, for the contact's custom fields.
    """
    out = Extracted()
    rest = payload
    if mapping:
        rest = copy.deepcopy(payload)
        for path, target in mapping.items():
            value = get_path(payload, path)
            if value is _MISSING:
                continue
            _drop_path(rest, path)
            if is_blank(value):
                continue
            name = canonical_field(target)
            if name is None:
                out.custom_fields[target] = value
            else:
                out.fields[name] = value
    for key, value in rest.items():
        name = canonical_field(key)
        if (
            name is None
            and _KEY_NOISE.sub("", key.lower()) == "consent"
            and isinstance(value, dict)
        ):
            _extract_consent(value, out)
        elif name is None:
            if not is_blank(value):
                out.custom_fields[key] = value
        elif name not in out.fields and not is_blank(value):
            out.fields[name] = value
    return out


def _extract_consent(consent: dict[str, Any], out: Extracted) -> None:
    if not is_blank(consent.get("description")):
        out.fields.setdefault("consent_description", consent["description"])
    if "value" in consent:
        out.fields.setdefault("consent_value", consent["value"])


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
        """The field as text, or None when it is missing or too long to store."""
        value = to_text(self.fields.get(name))
        if value is not None and (limit := too_long(name, value)) is not None:
            self.keep_as_sent(name, f"is longer than {limit} characters")
            return None
        return value


def _identity(r: _Reading, region: str) -> tuple[Identity, list[dict[str, Any]]]:
    """The payload's identity, and the problems of the identity values it could not use."""
    problems: list[dict[str, Any]] = []
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


_PROBLEM_FIELDS = {"phone_number": "phone", "email": "email", "crm_id": "crm_id"}


def _choice(r: _Reading, name: str, allowed: tuple[str, ...]) -> str | None:
    text = r.text(name)
    if text is None:
        return None
    if text.lower() not in allowed:
        r.keep_as_sent(name, f"'{text[:40]}' is not one of {', '.join(allowed)}")
        return None
    return text.lower()


def _lead_fields(r: _Reading) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for name in LEAD_TEXT_FIELDS:
        if (text := r.text(name)) is not None:
            lead[name] = text
    if "estimated_value" in r.fields:
        number = to_decimal(r.fields["estimated_value"])
        amount = money(number) if number is not None else None
        if amount is None:
            r.keep_as_sent("estimated_value", f"is not an amount from 0 to {MAX_MONEY}")
        else:
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
        if _KEY_NOISE.sub("", key.lower()) not in _COUNTRY_KEYS:
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


BODY_CLAIM_PREFIX = "body:"
MAX_DUPLICATE_WINDOW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Claim:
    """What makes a delivery the same as an earlier one: the provider's delivery id, or
    else its body, and since when an earlier one counts."""

    key: str
    since: datetime


def delivery_claim(
    delivery_key: str | None,
    body: bytes | None,
    *,
    now: datetime,
    idempotency_days: int,
    duplicate_window_minutes: int,
) -> Claim | None:
    """A delivery id is remembered for the idempotency window; without one, an identical
    body is the same delivery within the webhook's duplicate window (DESIGN §2.14): a
    double submit, or a provider's retry after its own timeout. None: nothing to match."""
    if delivery_key is not None:
        return Claim(delivery_key, now - timedelta(days=idempotency_days))
    if duplicate_window_minutes <= 0 or body is None:
        return None
    fingerprint = BODY_CLAIM_PREFIX + hashlib.sha256(body).hexdigest()
    return Claim(fingerprint, now - timedelta(minutes=duplicate_window_minutes))


def retry_after_when_queue_full(
    waiting: int, longest_wait: float, *, limit: int, max_wait: float
) -> int | None:
    """Seconds a new delivery should wait before retrying, when a worker already holds
    ``limit`` deliveries or one that has waited ``max_wait`` seconds; None to take it.

    The advice is about as long as the oldest has waited: roughly how far behind the
    database is."""
    if waiting < limit and longest_wait < max_wait:
        return None
    return max(1, math.ceil(longest_wait))
