"""From a provider's payload to canonical fields: aliases, per-webhook paths, validation.

Pure: no database, no HTTP. The service turns the result into contact and lead writes.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from leadpipe.contacts.rules import Identity, InvalidIdentity, normalize_email, normalize_phone
from leadpipe.errors import field_error
from leadpipe.kit.coerce import is_blank, to_bool, to_decimal, to_text

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


def _split_full_name(full: str) -> tuple[str, str | None]:
    first, _, last = full.strip().partition(" ")
    return first, (last.strip() or None)


def _tags(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [str(v).strip() for v in value if not is_blank(v)]
    text = to_text(value)
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _normalise_identity(f: dict[str, Any], region: str, errors: list[dict[str, Any]]) -> Identity:
    phone = email = None
    if (raw := to_text(f.get("phone"))) is not None:
        try:
            phone = normalize_phone(raw, region)
        except InvalidIdentity as exc:
            errors.append(field_error("phone_number", f"'{raw}' {exc}"))
    if (raw := to_text(f.get("email"))) is not None:
        try:
            email = normalize_email(raw)
        except InvalidIdentity as exc:
            errors.append(field_error("email", f"'{raw}' is not a valid email address: {exc}"))
    return Identity(crm_id=to_text(f.get("crm_id")), phone=phone, email=email)


def _enum(
    f: dict[str, Any], name: str, allowed: tuple[str, ...], errors: list[dict[str, Any]]
) -> str | None:
    text = to_text(f.get(name))
    if text is None:
        return None
    if text.lower() not in allowed:
        errors.append(field_error(name, f"must be one of {', '.join(allowed)}"))
        return None
    return text.lower()


def _lead_fields(f: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for name in LEAD_TEXT_FIELDS:
        if (text := to_text(f.get(name))) is not None:
            lead[name] = text
    if "estimated_value" in f:
        value = to_decimal(f["estimated_value"])
        if value is None or value < 0:
            errors.append(field_error("estimated_value", "must be a non-negative number"))
        else:
            lead["estimated_value"] = value.quantize(Decimal("0.01"))
    for name in ("consent_value", "tcpa_compliance"):
        if name in f:
            flag = to_bool(f[name])
            if flag is None:
                errors.append(field_error(name, "must be true or false"))
            else:
                lead[name] = flag
    if (priority := _enum(f, "priority", PRIORITIES, errors)) is not None:
        lead["priority"] = priority
    if (temperature := _enum(f, "temperature", TEMPERATURES, errors)) is not None:
        lead["temperature"] = temperature
    if (tags := _tags(f.get("tags"))) is not None:
        lead["tags"] = tags
    return lead


def validate(
    extracted: Extracted, *, region: str, require_phone: bool
) -> tuple[Submission | None, list[dict[str, Any]]]:
    """A Submission, or the list of field errors (each naming its field)."""
    f = extracted.fields
    errors: list[dict[str, Any]] = []
    identity = _normalise_identity(f, region, errors)
    if require_phone and "phone" not in f:
        errors.append(field_error("phone_number", "is required by this webhook"))
    elif not (identity.phone or identity.email or identity.crm_id) and not errors:
        errors.append(field_error("phone_number", "phone_number or email is required"))

    contact = {n: t for n in CONTACT_TEXT_FIELDS if (t := to_text(f.get(n))) is not None}
    if "firstname" not in contact and (full := to_text(f.get("fullname"))):
        first, last = _split_full_name(full)
        contact["firstname"] = first
        if last and "lastname" not in contact:
            contact["lastname"] = last
    lead = _lead_fields(f, errors)
    if errors:
        return None, errors

    appointment = None
    if (adate := to_text(f.get("appointment_date"))) is not None:
        appointment = Appointment(
            adate, to_text(f.get("appointment_time")), to_text(f.get("appointment_status"))
        )
    return Submission(
        identity=identity,
        contact=contact,
        custom_fields=extracted.custom_fields,
        source=to_text(f.get("source")),
        sub_source=to_text(f.get("sub_source")),
        product=to_text(f.get("product")),
        status=to_text(f.get("status")),
        notes=contact.get("notes"),
        lead=lead,
        appointment=appointment,
        ip_address=to_text(f.get("ip_address")),
        user_agent=to_text(f.get("user_agent")),
    ), []


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
