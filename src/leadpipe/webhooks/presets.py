"""Presets: webhooks set up for the senders people use. Each preset turns its sender's
payload into the flat fields intake reads (names the aliases know, the rest kept as
custom fields), so that a question added to a form shifts nothing.

A preset parses defensively: a delivery whose envelope it cannot read (an answer that is
not an object, a question without its ref, Unbounce's data.json that is not JSON) is
refused naming the field, to be kept in the intake log and replayed; a value it can read
but of an odd shape is kept as sent, with a warning (DESIGN §2.12).

Pure: no database, no HTTP (the Graph API fetch of Facebook's leadgen webhook is in
``intake/facebook.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadpipe.errors import Unauthorized, ValidationFailed, field_error
from leadpipe.kit.fields import MAX_JSON_DEPTH, too_deep
from leadpipe.kit.jsonvalues import NestsTooDeep, loads_as_sent, unstorable_text

# Settings that are credentials: shown as set, never as they are.
SECRET_SETTINGS = frozenset({"verify_token", "page_token", "google_key"})
HIDDEN = "[set]"


@dataclass(frozen=True, slots=True)
class Flattened:
    """A sender's payload as intake reads it; ``test``: a test lead (Google's "send test
    data"), logged but not stored as a lead; ``key``: the sender's id for the lead, which
    makes its retries duplicates; ``warnings``: values of an odd shape, kept as sent."""

    payload: dict[str, Any]
    test: bool = False
    key: str | None = None
    warnings: tuple[dict[str, Any], ...] = ()


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


def _unreadable(message: str, where: str, problem: str) -> ValidationFailed:
    """The refusal of a delivery whose envelope cannot be read at ``where``."""
    return ValidationFailed(message, [field_error(where, problem)])


def _kept_as_sent(where: str, problem: str) -> dict[str, Any]:
    return field_error(where, f"{problem}; kept as sent")


def _name(value: Any) -> str | None:
    """A question's name as text (a ref, an id, a column id), or None when it is none."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _key(prefix: str, value: Any) -> str | None:
    """The sender's id for the lead, when it sent one as text or a number."""
    name = _name(value)
    return f"{prefix}:{name}" if name else None


# -- Facebook Lead Ads ----------------------------------------------------------------


FACEBOOK_IDS = ("id", "leadgen_id", "form_id", "ad_id", "adgroup_id", "campaign_id", "page_id")


def facebook_fields(lead: dict[str, Any]) -> dict[str, Any]:
    """A lead's ``field_data`` by field name (``full_name``, ``phone_number``, a custom
    question's own name), beside its ids."""
    data = lead.get("field_data")
    refused = "A Facebook lead needs its field_data list of named answers"
    if not isinstance(data, list):
        raise _unreadable(refused, "field_data", "must be a list of the form's answers")
    answers: dict[str, Any] = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise _unreadable(refused, f"field_data[{i}]", "must be an object with a name")
        name = _name(item.get("name"))
        if name is None:
            raise _unreadable(refused, f"field_data[{i}].name", "must name the question")
        answers[name] = _values_text(item.get("values"))
    ids = {f"facebook_{k}": lead[k] for k in FACEBOOK_IDS if k in lead}
    return {**_rest(lead, "field_data", *FACEBOOK_IDS), **ids, **answers}


def _facebook(payload: dict[str, Any], _settings: dict[str, Any]) -> Flattened:
    if payload.get("object") == "page":
        # A leadgen notification comes here only when it names no lead that can be read.
        where, problem = _notification_problem(payload)
        raise _unreadable("This leadgen notification names no lead to fetch", where, problem)
    key = _key("facebook", payload.get("leadgen_id") or payload.get("id"))
    return Flattened(facebook_fields(payload), key=key)


def leadgen_changes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The leads a real-time leadgen notification announces: each change's value
    (``leadgen_id``, ``page_id``, ``form_id``, ``ad_id``, ``created_time``)."""
    if payload.get("object") != "page":
        return []
    return [value for value, _ in _leadgen_values(payload) if value is not None]


def _leadgen_values(payload: dict[str, Any]) -> list[tuple[dict[str, Any] | None, str]]:
    """Each leadgen change of a notification: its value, or None where it cannot be read;
    and where it is (``entry[0].changes[1]``, or the part that cannot be read)."""
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return [(None, "entry")]
    found: list[tuple[dict[str, Any] | None, str]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            found.append((None, f"entry[{i}]"))
            continue
        changes = entry.get("changes")
        if not isinstance(changes, list):
            found.append((None, f"entry[{i}].changes"))
            continue
        for j, change in enumerate(changes):
            where = f"entry[{i}].changes[{j}]"
            if not isinstance(change, dict):
                found.append((None, where))
            elif change.get("field") == "leadgen":
                value = change.get("value")
                if not isinstance(value, dict):
                    found.append((None, f"{where}.value"))
                elif _name(value.get("leadgen_id")) is None:
                    found.append((None, f"{where}.value.leadgen_id"))
                else:
                    found.append((value, where))
    return found


def _notification_problem(payload: dict[str, Any]) -> tuple[str, str]:
    """Where a leadgen notification that names no readable lead goes wrong, and how."""
    problems = {
        "entry": "must be a list of the page's entries",
        "changes": "must be a list of the entry's changes",
        "value": "must be an object naming the lead",
        "leadgen_id": "must be the lead's id",
    }
    for value, where in _leadgen_values(payload):
        if value is None:
            last = where.rsplit(".", 1)[-1]
            return where, problems.get(last, "must be an object")
    return "entry", "holds no leadgen change"


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
    refused = "A Google Ads lead needs its user_column_data list of answers by column_id"
    if not isinstance(columns, list):
        raise _unreadable(refused, "user_column_data", "must be a list of the form's answers")
    answers: dict[str, Any] = {}
    for i, column in enumerate(columns):
        where = f"user_column_data[{i}]"
        if not isinstance(column, dict):
            raise _unreadable(refused, where, "must be an object with a column_id")
        column_id = _name(column.get("column_id"))
        if column_id is None:
            raise _unreadable(refused, f"{where}.column_id", "must name the question")
        answers.setdefault(GOOGLE_COLUMNS.get(column_id, column_id), column.get("string_value"))
    ids = {
        f"google_{k}": payload[k]
        for k in ("lead_id", "form_id", "campaign_id", "adgroup_id", "creative_id", "gcl_id")
        if k in payload
    }
    return Flattened(
        {**ids, **answers},
        test=payload.get("is_test") is True,
        key=_key("google", payload.get("lead_id")),
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


_TYPEFORM_REFUSED = "A Typeform delivery needs form_response.answers, each naming its question"


def _typeform_question(answer: Any, where: str) -> tuple[str, str]:
    """An answer's type and the name of its question (its ref, else its id)."""
    if not isinstance(answer, dict):
        raise _unreadable(_TYPEFORM_REFUSED, where, "must be an object (an answer)")
    kind = answer.get("type")
    if not isinstance(kind, str) or not kind:
        raise _unreadable(_TYPEFORM_REFUSED, f"{where}.type", "must be the answer's type")
    question = answer.get("field")
    if not isinstance(question, dict):
        raise _unreadable(
            _TYPEFORM_REFUSED, f"{where}.field", "must be an object naming the question"
        )
    name = _name(question.get("ref")) or _name(question.get("id"))
    if name is None:
        raise _unreadable(
            _TYPEFORM_REFUSED, f"{where}.field.ref", "must name the question (or field.id)"
        )
    return kind, name


def _typeform_value(
    answer: dict[str, Any], kind: str, where: str, warnings: list[dict[str, Any]]
) -> Any:
    if kind == "choice":
        choice = answer.get("choice")
        if choice is None or not isinstance(choice, dict):
            if choice is not None:
                warnings.append(_kept_as_sent(f"{where}.choice", "is not an object with a label"))
            return choice
        label = choice.get("label")
        return label if label not in (None, "") else choice.get("other")
    if kind == "choices":
        choices = answer.get("choices")
        if choices is None or not isinstance(choices, dict):
            if choices is not None:
                warnings.append(_kept_as_sent(f"{where}.choices", "is not an object of labels"))
            return choices
        labels = choices.get("labels")
        if labels is not None and not isinstance(labels, list):
            warnings.append(_kept_as_sent(f"{where}.choices.labels", "is not a list"))
            return choices
        return _values_text([*(labels or []), choices.get("other")])
    return answer.get(_TYPEFORM_VALUE.get(kind, kind))


def _typeform_hidden(hidden: Any, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    """A response's hidden fields by name; kept whole when they are not by name."""
    if hidden is None:
        return {}
    if isinstance(hidden, dict):
        return dict(hidden)
    warnings.append(_kept_as_sent("form_response.hidden", "is not an object of hidden fields"))
    return {"typeform_hidden": hidden}


def _typeform(payload: dict[str, Any], _settings: dict[str, Any]) -> Flattened:
    response = payload.get("form_response")
    if not isinstance(response, dict):
        raise _unreadable(_TYPEFORM_REFUSED, "form_response", "must be an object")
    answers = response.get("answers")
    if not isinstance(answers, list):
        raise _unreadable(_TYPEFORM_REFUSED, "form_response.answers", "must be a list")
    warnings: list[dict[str, Any]] = []
    fields = _typeform_hidden(response.get("hidden"), warnings)
    for i, answer in enumerate(answers):
        where = f"form_response.answers[{i}]"
        kind, name = _typeform_question(answer, where)
        value = _typeform_value(answer, kind, where, warnings)
        fields[name] = value
        by_type = _TYPEFORM_FIELD_OF_TYPE.get(kind)
        if by_type and isinstance(value, str):
            fields.setdefault(by_type, value)
    fields["typeform_form_id"] = response.get("form_id")
    fields["typeform_submitted_at"] = response.get("submitted_at")
    key = _key("typeform", payload.get("event_id") or response.get("token"))
    return Flattened(fields, key=key, warnings=tuple(warnings))


# -- Unbounce -------------------------------------------------------------------------


_UNBOUNCE_REFUSED = "An Unbounce delivery needs its data.json field: the form's answers"


def _unbounce_data(raw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The answers in data.json, read by the rule every JSON body is read by (a NUL or a
    lone surrogate refused, a number JSON cannot hold exactly kept as the text sent), and
    the warnings for the numbers kept as text."""
    if isinstance(raw, dict):  # posted as JSON: read with the body already
        return raw, []
    if raw is None:
        raise _unreadable(_UNBOUNCE_REFUSED, "data.json", "is required")
    if not isinstance(raw, str):
        raise _unreadable(_UNBOUNCE_REFUSED, "data.json", "must be sent once, as JSON text")
    deeper = f"must not nest deeper than {MAX_JSON_DEPTH} levels"
    try:
        read = loads_as_sent(raw)
    except NestsTooDeep:
        raise _unreadable(_UNBOUNCE_REFUSED, "data.json", deeper) from None
    except ValueError as exc:
        problem = f"is not valid JSON ({str(exc)[:200]})"
        raise _unreadable(_UNBOUNCE_REFUSED, "data.json", problem) from None
    if not isinstance(read.value, dict):
        raise _unreadable(_UNBOUNCE_REFUSED, "data.json", "must hold an object")
    if too_deep(read.value):
        raise _unreadable(_UNBOUNCE_REFUSED, "data.json", deeper)
    unstorable = unstorable_text(read.value)
    if unstorable:
        raise ValidationFailed(
            "The lead payload is invalid",
            [field_error(f"data.json.{u.path}", u.message) for u in unstorable],
        )
    warnings = [
        field_error(f"data.json.{path}", "is a number that cannot be stored; kept as the text sent")
        for path in read.kept_as_text
    ]
    return read.value, warnings


def _unbounce(payload: dict[str, Any], _settings: dict[str, Any]) -> Flattened:
    data, warnings = _unbounce_data(payload.get("data.json"))
    answers = {k: _values_text(v) for k, v in data.items()}
    page = {
        "landing_page_url": payload.get("page_url"),
        "unbounce_page_id": payload.get("page_id"),
        "unbounce_page_name": payload.get("page_name"),
        "unbounce_variant": payload.get("variant"),
    }
    kept = {k: _values_text(v) for k, v in page.items() if v not in (None, "", [])}
    return Flattened({**kept, **answers}, warnings=tuple(warnings))


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
