"""From a provider's payload to canonical fields: aliases and per-webhook paths.

Pure: no database, no HTTP."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from leadpipe.kit.coerce import ascii_int, is_blank

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

KEY_NOISE = re.compile(r"[^a-z0-9]")

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
    return _ALIAS_TO_FIELD.get(KEY_NOISE.sub("", key.lower()))


MISSING = object()
# A key, or what a pair of brackets holds: a position (``[0]``) or a selector
# (``[name=email]``).
_PATH_PART = re.compile(r"\[([^\]]*)\]|([^.\[\]]+)")


@dataclass(frozen=True, slots=True)
class _Select:
    """The first item of a list whose ``key`` holds ``value`` (compared as text)."""

    key: str
    value: str

    def pick(self, items: list[Any]) -> Any:
        for item in items:
            if isinstance(item, dict) and str(item.get(self.key)) == self.value:
                return item
        return MISSING


def _path_parts(path: str) -> list[str | _Select]:
    parts: list[str | _Select] = []
    for bracketed, plain in _PATH_PART.findall(path.removeprefix("$").lstrip(".")):
        if plain:
            parts.append(plain)
        elif "=" in bracketed:
            key, _, value = bracketed.partition("=")
            parts.append(_Select(key.strip(), value.strip().strip("'\"")))
        else:
            parts.append(bracketed.strip())
    return parts


def get_path(payload: Any, path: str) -> Any:
    """The value at ``customer.personal.firstName``, ``$.items[0].zip`` or
    ``field_data[name=email].values[0]`` (the item whose ``name`` is ``email``: a form
    that gains a question shifts no field), or MISSING."""
    node = payload
    for part in _path_parts(path):
        if isinstance(part, _Select):
            node = part.pick(node) if isinstance(node, list) else MISSING
            if node is MISSING:
                return MISSING
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list) and (index := ascii_int(part)) is not None and index < len(node)
        ):
            node = node[index]
        else:
            return MISSING
    return node


def _drop_path(payload: dict[str, Any], path: str) -> None:
    """Remove a mapped value, and the objects it leaves empty, from the unmapped rest."""
    parts = _path_parts(path)
    trail: list[tuple[dict[str, Any], str]] = []
    node: Any = payload
    if any(isinstance(part, _Select) for part in parts):
        return  # a value inside a list stays in the rest with its list
    for part in parts[:-1]:
        assert isinstance(part, str)
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return
        trail.append((node, part))
        node = node[part]
    if isinstance(node, dict) and isinstance(parts[-1], str):
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
            if value is MISSING:
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
        if name is None and KEY_NOISE.sub("", key.lower()) == "consent" and isinstance(value, dict):
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
