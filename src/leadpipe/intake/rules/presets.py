"""Presets: webhooks set up for the senders people use. Each preset turns its sender's
payload into the flat fields intake reads (names the aliases know, the rest kept as
custom fields), so that a question added to a form shifts nothing.

Pure: no database, no HTTP (the Graph API fetch of Facebook's leadgen webhook is in
``intake/facebook.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadpipe.errors import Unauthorized, ValidationFailed

# Settings that are credentials: shown as set, never as they are.
SECRET_SETTINGS = frozenset({"verify_token", "page_token", "google_key"})
HIDDEN = "[set]"


@dataclass(frozen=True, slots=True)
class Flattened:
    """A sender's payload as intake reads it; ``test``: a test lead (Google's "send test
    data"), logged but not stored as a lead; ``key``: the sender's id for the lead, which
    makes its retries duplicates."""

    payload: dict[str, Any]
    test: bool = False
    key: str | None = None


Flatten = Callable[[dict[str, Any], dict[str, Any]], Flattened]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    title: str
    description: str
    flatten: Flatten | None = field(default=None, repr=False)
    settings: tuple[str, ...] = ()  # what it reads in preset_settings
    default_source: str | None = None
    signature: str | None = None  # the header its sender signs with, when it signs
    # A form's submission is an opportunity even when it names no product.
    always_create_lead: bool = True


def _values_text(values: Any) -> Any:
    """A form answer given as a list of values: the value, or the values joined."""
    if isinstance(values, list):
        texts = [v for v in values if v not in (None, "")]
        if not texts:
            return None
        return texts[0] if len(texts) == 1 else ", ".join(str(v) for v in texts)
    return values


def _rest(payload: dict[str, Any], *taken: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in taken}


# -- Facebook Lead Ads ----------------------------------------------------------------


FACEBOOK_IDS = ("id", "leadgen_id", "form_id", "ad_id", "adgroup_id", "campaign_id", "page_id")


def facebook_fields(lead: dict[str, Any]) -> dict[str, Any]:
    """A lead's ``field_data`` by field name (``full_name``, ``phone_number``, a custom
    question's own name), beside its ids."""
    data = lead.get("field_data")
    if not isinstance(data, list):
        raise ValidationFailed("A Facebook lead needs its field_data list")
    answers = {
        str(item["name"]): _values_text(item.get("values"))
        for item in data
        if isinstance(item, dict) and item.get("name")
    }
    ids = {f"facebook_{k}": lead[k] for k in FACEBOOK_IDS if k in lead}
    return {**_rest(lead, "field_data", *FACEBOOK_IDS), **ids, **answers}


def _facebook(payload: dict[str, Any], _settings: dict[str, Any]) -> Flattened:
    key = payload.get("leadgen_id") or payload.get("id")
    return Flattened(facebook_fields(payload), key=f"facebook:{key}" if key else None)


def leadgen_changes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The leads a real-time leadgen notification announces: each change's value
    (``leadgen_id``, ``page_id``, ``form_id``, ``ad_id``, ``created_time``)."""
    if payload.get("object") != "page" or not isinstance(payload.get("entry"), list):
        return []
    return [
        change["value"]
        for entry in payload["entry"]
        if isinstance(entry, dict)
        for change in entry.get("changes") or []
        if isinstance(change, dict)
        and change.get("field") == "leadgen"
        and isinstance(change.get("value"), dict)
        and change["value"].get("leadgen_id")
    ]


def verification_answer(settings: dict[str, Any], query: dict[str, str]) -> str | None:
    """The challenge to echo to Facebook's subscription handshake, when its verify token
    is the webhook's; None otherwise."""
    token = settings.get("verify_token")
    if query.get("hub.mode") == "subscribe" and token and query.get("hub.verify_token") == token:
        return query.get("hub.challenge", "")
    return None


# -- Google Ads lead forms ------------------------------------------------------------

# Google's column ids for the standard questions, by the field they fill.
GOOGLE_COLUMNS = {
    "FULL_NAME": "fullname",
    "FIRST_NAME": "firstname",
    "LAST_NAME": "lastname",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "STREET_ADDRESS": "address",
    "CITY": "city",
    "REGION": "state",
    "POSTAL_CODE": "zip_code",
    "COUNTRY": "country",
    "COMPANY_NAME": "company_name",
    "JOB_TITLE": "job_title",
}


def _google(payload: dict[str, Any], settings: dict[str, Any]) -> Flattened:
    expected = settings.get("google_key")
    if expected and payload.get("google_key") != expected:
        raise Unauthorized("google_key does not match this webhook's key")
    columns = payload.get("user_column_data")
    if not isinstance(columns, list):
        raise ValidationFailed("A Google Ads lead needs its user_column_data list")
    answers: dict[str, Any] = {}
    for column in columns:
        if not isinstance(column, dict) or not column.get("column_id"):
            continue
        column_id = str(column["column_id"])
        answers.setdefault(GOOGLE_COLUMNS.get(column_id, column_id), column.get("string_value"))
    ids = {
        f"google_{k}": payload[k]
        for k in ("lead_id", "form_id", "campaign_id", "adgroup_id", "creative_id", "gcl_id")
        if k in payload
    }
    key = payload.get("lead_id")
    return Flattened(
        {**ids, **answers},
        test=payload.get("is_test") is True,
        key=f"google:{key}" if key else None,
    )


# -- Typeform -------------------------------------------------------------------------

_TYPEFORM_VALUE = {
    "text": "text",
    "email": "email",
    "phone_number": "phone_number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "url": "url",
    "file_url": "file_url",
}
# Answers of these types fill the field when no ref names it.
_TYPEFORM_FIELD_OF_TYPE = {"email": "email", "phone_number": "phone"}


def _typeform_value(answer: dict[str, Any]) -> Any:
    kind = answer.get("type")
    if kind == "choice":
        choice = answer.get("choice") or {}
        return choice.get("label") or choice.get("other")
    if kind == "choices":
        choices = answer.get("choices") or {}
        return _values_text([*(choices.get("labels") or []), choices.get("other")])
    return answer.get(_TYPEFORM_VALUE.get(str(kind), str(kind)))


def _typeform(payload: dict[str, Any], _settings: dict[str, Any]) -> Flattened:
    response = payload.get("form_response")
    if not isinstance(response, dict) or not isinstance(response.get("answers"), list):
        raise ValidationFailed("A Typeform delivery needs form_response.answers")
    fields: dict[str, Any] = dict(response.get("hidden") or {})
    for answer in response["answers"]:
        if not isinstance(answer, dict):
            continue
        question = answer.get("field") or {}
        value = _typeform_value(answer)
        name = question.get("ref") or question.get("id")
        if name:
            fields[str(name)] = value
        by_type = _TYPEFORM_FIELD_OF_TYPE.get(str(answer.get("type")))
        if by_type:
            fields.setdefault(by_type, value)
    fields["typeform_form_id"] = response.get("form_id")
    fields["typeform_submitted_at"] = response.get("submitted_at")
    key = payload.get("event_id") or response.get("token")
    return Flattened(fields, key=f"typeform:{key}" if key else None)


# -- Unbounce -------------------------------------------------------------------------


def _unbounce(payload: dict[str, Any], _settings: dict[str, Any]) -> Flattened:
    raw = payload.get("data.json")
    if not isinstance(raw, str):
        raise ValidationFailed("An Unbounce delivery needs its data.json field")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValidationFailed("Unbounce's data.json is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed("Unbounce's data.json must hold an object")
    answers = {k: _values_text(v) for k, v in data.items()}
    page = {
        "landing_page_url": payload.get("page_url"),
        "unbounce_page_id": payload.get("page_id"),
        "unbounce_page_name": payload.get("page_name"),
        "unbounce_variant": payload.get("variant"),
    }
    return Flattened({**{k: v for k, v in page.items() if v}, **answers})


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "generic",
            "Generic JSON",
            "Any JSON, form or multipart body: field names and aliases as in the Lead API, "
            "other names mapped by path (customer.phone, field_data[name=email].values[0]).",
            always_create_lead=False,
        ),
        Preset(
            "facebook",
            "Facebook Lead Ads",
            "Facebook's real-time leadgen webhook (verify token, X-Hub-Signature-256 with "
            "the app secret as the webhook's secret, each lead fetched from the Graph API "
            "with the page token), or a lead's field_data posted directly by Zapier, Make "
            "or a page's own code.",
            _facebook,
            settings=("verify_token", "page_token"),
            default_source="Facebook Lead Ads",
            signature="X-Hub-Signature-256",
        ),
        Preset(
            "google",
            "Google Ads lead forms",
            "Google's lead form webhook: user_column_data by column_id, google_key checked "
            "against the webhook's key; test leads are logged, never stored as leads.",
            _google,
            settings=("google_key",),
            default_source="Google Ads",
        ),
        Preset(
            "typeform",
            "Typeform",
            "form_response.answers by each question's ref, hidden fields too; "
            "Typeform-Signature checked with the webhook's secret.",
            _typeform,
            default_source="Typeform",
            signature="Typeform-Signature",
        ),
        Preset(
            "unbounce",
            "Unbounce",
            "Unbounce's form-encoded post with its data.json field.",
            _unbounce,
            default_source="Unbounce",
        ),
        Preset(
            "zapier",
            "Zapier / Make",
            'Flat keys written for people ("First Name", "Phone Number", '
            '"Email Address"): each is read as the field it names.',
        ),
        Preset(
            "html_form",
            "HTML form",
            "A plain <form method=post> of a web page; after it, the visitor is sent to "
            "the thank-you page when redirect_url is set.",
            settings=("redirect_url",),
            default_source="Website",
        ),
    )
}


def flattened(preset: str, payload: dict[str, Any], settings: dict[str, Any]) -> Flattened:
    """The payload as intake reads it, by the webhook's preset."""
    known = PRESETS.get(preset)
    if known is None or known.flatten is None:
        return Flattened(payload)
    return known.flatten(payload, settings)


def shown_settings(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: HIDDEN if k in SECRET_SETTINGS and v else v for k, v in settings.items()}


def merged_settings(held: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``held`` with ``changes`` over it: null removes a setting, and a credential sent
    back as it is shown keeps its value."""
    out = dict(held)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif value != HIDDEN:
            out[key] = value
    return out
