"""What a lead of a vertical carries beyond the common fields, and its TCPA consent proof.

Vertical fields (seed 002's leads table: solar's electric bill and roof, HVAC's system and
urgency, insurance's policy and claims) are read from the payload's other fields by name,
typed and checked by range and allowed values, and stored on the lead. A value that fails
is kept as sent with the contact's custom fields, with a warning, as for any optional field.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from leadpipe.customfields.rules import TEMPLATES, FieldDefinition, check_values
from leadpipe.kit.coerce import to_decimal
from leadpipe.payloads.mapping import KEY_NOISE
from leadpipe.payloads.rules import Submission

# Bounds of the numeric fields: values outside are typos (a roof of 300 years) or units
# mixed up, and are kept as sent with a warning instead.
RANGES: dict[str, tuple[float, float]] = {
    "monthly_electric_bill": (1, 100_000),
    "roof_age": (0, 100),
    "system_age": (0, 100),
    "property_size": (100, 1_000_000),
    "coverage_amount": (0, 100_000_000),
    "current_premium": (0, 1_000_000),
    "property_value": (0, 1_000_000_000),
}
# What providers call the same fields.
ALIASES = {
    "electricbill": "monthly_electric_bill",
    "monthlybill": "monthly_electric_bill",
    "averagemonthlybill": "monthly_electric_bill",
    "powerbill": "monthly_electric_bill",
    "shade": "shade_coverage",
    "hvacsystemtype": "system_type",
    "hometype": "property_type",
    "squarefeet": "property_size",
    "squarefootage": "property_size",
    "sqft": "property_size",
    "homevalue": "property_value",
    "claims": "claims_history",
    "insurancetype": "policy_type",
    "currentinsurer": "current_carrier",
}


def _key(name: str) -> str:
    return KEY_NOISE.sub("", name.lower())


def _definitions(lead_type: str | None) -> dict[str, FieldDefinition]:
    """The vertical's fields, by every name they are sent under."""
    found = TEMPLATES.get((lead_type or "").strip().lower(), ())
    by_name = {_key(d.key): d for d in found}
    keys = {d.key: d for d in found}
    by_name.update({alias: keys[key] for alias, key in ALIASES.items() if key in keys})
    return by_name


def _as_option(definition: FieldDefinition, value: Any) -> Any:
    """A select's value as its option is written: ``Central Air`` is ``central_air``."""
    if definition.field_type != "select" or not isinstance(value, str):
        return value
    spelled = value.strip().lower().replace("-", "_").replace(" ", "_")
    return spelled if spelled in definition.options else value


def _out_of_range(key: str, value: Any) -> str | None:
    bounds = RANGES.get(key)
    number = to_decimal(value)
    if bounds is None or number is None:
        return None
    low, high = bounds
    return None if low <= number <= high else f"must be from {low:,} to {high:,}"


def with_vertical_fields(sub: Submission, lead_type: str | None, region: str) -> Submission:
    """``sub`` with its vertical's fields moved from the contact's custom fields onto the
    lead, typed; the ones that fail stay as sent, each with a warning."""
    definitions = _definitions(lead_type or sub.lead.get("lead_type"))
    if not definitions:
        return sub
    taken = {
        name: definitions[_key(name)] for name in sub.custom_fields if _key(name) in definitions
    }
    if not taken:
        return sub
    sent = {d.key: _as_option(d, sub.custom_fields[name]) for name, d in taken.items()}
    checked = check_values(sent, list(taken.values()), region=region)
    failed = {e["field"].removeprefix("custom_fields."): e["message"] for e in checked.errors}
    for key, value in checked.values.items():
        if key not in failed and (problem := _out_of_range(key, value)):
            failed[key] = problem
    good = {k: v for k, v in checked.values.items() if k not in failed}
    names = {d.key: name for name, d in taken.items()}
    warnings = [
        {"field": names[key], "message": f"{problem}; kept as sent in custom_fields"}
        for key, problem in failed.items()
    ]
    kept = {k: v for k, v in sub.custom_fields.items() if k not in taken or taken[k].key in failed}
    lead = {**sub.lead, "custom_fields": {**sub.lead.get("custom_fields", {}), **good}}
    return dataclasses.replace(
        sub, custom_fields=kept, lead=lead, warnings=(*sub.warnings, *warnings)
    )


# -- TCPA consent proof -----------------------------------------------------------------

_TRUSTEDFORM = ("xxtrustedformcerturl", "trustedformcerturl", "trustedformurl", "trustedform")
_JORNAYA = ("universalleadid", "jornayaleadid", "leadidtoken", "jornaya", "leadid")
_CONSENT_TIME = ("consenttimestamp", "consentat", "consentdate", "consenttime", "tcpatimestamp")


_PROOF_KEYS = {
    **dict.fromkeys(_TRUSTEDFORM, "trustedform"),
    **dict.fromkeys(_JORNAYA, "jornaya"),
    **dict.fromkeys(_CONSENT_TIME, "at"),
}


def _proof_fields(custom: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """The custom fields that prove consent, by what they prove: (their key, the value)."""
    found: dict[str, tuple[str, Any]] = {}
    for key, value in custom.items():
        proves = _PROOF_KEYS.get(_key(key))
        if proves is not None and proves not in found and value not in (None, ""):
            found[proves] = (key, value)
    return found


def with_consent_proof(
    sub: Submission, *, ip: str | None, user_agent: str | None, now: datetime
) -> Submission:
    """``sub`` with the proof of its TCPA consent on the lead, when it carries consent:
    the text and value, when, from which IP and browser, on which page, and the
    TrustedForm certificate or Jornaya lead id that vouch for it."""
    lead = sub.lead
    proofs = _proof_fields(sub.custom_fields)
    consent_sent = any(
        lead.get(k) is not None for k in ("consent_description", "consent_value", "tcpa_compliance")
    )
    if not (consent_sent or "trustedform" in proofs or "jornaya" in proofs):
        return sub
    taken = {key for key, _ in proofs.values()}
    custom = {k: v for k, v in sub.custom_fields.items() if k not in taken}
    trustedform = proofs.get("trustedform", (None, None))[1]
    jornaya = proofs.get("jornaya", (None, None))[1]
    at = proofs.get("at", (None, None))[1]
    proof = {
        "text": lead.get("consent_description"),
        "value": lead.get("consent_value", lead.get("tcpa_compliance")),
        "at": str(at) if at else now.isoformat(),
        "ip_address": sub.ip_address or ip,
        "user_agent": sub.user_agent or user_agent,
        "page_url": lead.get("landing_page_url"),
        "trustedform_cert_url": str(trustedform) if trustedform else None,
        "jornaya_lead_id": str(jornaya) if jornaya else None,
    }
    return dataclasses.replace(sub, custom_fields=custom, lead={**lead, "consent_proof": proof})
