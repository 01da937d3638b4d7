"""Every preset parses defensively: over its sender's payload shape, valid and mutated
(wrong types at every level, keys left out, extra nesting, odd strings, and for
Unbounce's data.json every JSON text a form could carry), reading a payload gives a
payload intake can store or a refusal naming a field; it never raises anything else,
never changes the payload it was given, and gives the same answer every time (a replay
reads the same body again)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadpipe.errors import ValidationFailed
from leadpipe.kit.fields import too_deep
from leadpipe.kit.jsonvalues import MIN_INT, unstorable_values
from leadpipe.payloads.mapping import extract
from leadpipe.payloads.rules import validate
from leadpipe.webhooks.presets import GOOGLE_COLUMNS, PRESETS, flattened

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- JSON as a body gives it (orjson's reading: no NUL, no lone surrogate, no number
# beyond what a column holds; those are the body rules', before any preset) ---------

ODD_TEXT = st.sampled_from(
    ["", " ", "null", "0", "[]", "{}", "é", "Ω≈ç√", "👩‍👩‍👧", "\u202etxet", "a" * 300, "\n\t"]
)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
STRINGS = TEXT | ODD_TEXT
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(MIN_INT, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | STRINGS
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(STRINGS, inner, max_size=3),
    max_leaves=8,
)
NAMES = st.text("abcdefghij_?", min_size=1, max_size=8)
EMAILS = st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True)
PHONES = st.sampled_from(["+14155550123", "(303) 555-0199", "5125550147", "12"])


# -- each sender's payload, as it sends it --------------------------------------------


def typeform_answers() -> st.SearchStrategy[dict[str, Any]]:
    def answer(kind: str, value: Any) -> st.SearchStrategy[dict[str, Any]]:
        return st.builds(
            lambda ref, v: {"type": kind, kind: v, "field": {"id": "Q", "ref": ref}},
            NAMES,
            value,
        )

    choice = st.builds(
        lambda ref, label: {"type": "choice", "choice": {"label": label}, "field": {"ref": ref}},
        NAMES,
        TEXT,
    )
    choices = st.builds(
        lambda ref, labels: {
            "type": "choices",
            "choices": {"labels": labels},
            "field": {"ref": ref},
        },
        NAMES,
        st.lists(TEXT, max_size=3),
    )
    return (
        answer("text", TEXT)
        | answer("email", EMAILS)
        | answer("phone_number", PHONES)
        | answer("number", st.integers(-(10**6), 10**6))
        | answer("boolean", st.booleans())
        | choice
        | choices
    )


TYPEFORM = st.builds(
    lambda answers, hidden, token: {
        "event_id": token,
        "form_response": {
            "form_id": "lT4Z3j",
            "token": token,
            "hidden": hidden,
            "answers": answers,
        },
    },
    st.lists(typeform_answers(), max_size=5),
    st.dictionaries(NAMES, TEXT, max_size=2),
    NAMES,
)

UNBOUNCE_DATA = st.dictionaries(NAMES, st.lists(TEXT, max_size=2), max_size=4)
UNBOUNCE = st.builds(
    lambda data, url: {"page_id": "a1b2", "page_url": url, "data.json": json.dumps(data)},
    UNBOUNCE_DATA,
    TEXT,
)

FACEBOOK = st.builds(
    lambda items, lead_id: {"id": lead_id, "form_id": "9123", "field_data": items},
    st.lists(
        st.builds(lambda n, v: {"name": n, "values": v}, NAMES, st.lists(TEXT, max_size=2)),
        max_size=5,
    ),
    NAMES,
)
FACEBOOK_NOTIFICATION = st.builds(
    lambda ids: {
        "object": "page",
        "entry": [
            {"id": "1", "changes": [{"field": "leadgen", "value": {"leadgen_id": i}} for i in ids]}
        ],
    },
    st.lists(NAMES, max_size=2),
)

GOOGLE = st.builds(
    lambda columns, lead_id, is_test: {
        "lead_id": lead_id,
        "is_test": is_test,
        "user_column_data": columns,
    },
    st.lists(
        st.builds(
            lambda c, v: {"column_id": c, "string_value": v},
            st.sampled_from(sorted(GOOGLE_COLUMNS)) | NAMES,
            TEXT,
        ),
        max_size=5,
    ),
    NAMES,
    st.booleans(),
)

FLAT = st.dictionaries(STRINGS, JSON, max_size=6)  # Zapier, HTML forms, generic JSON

SHAPES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "typeform": TYPEFORM,
    "unbounce": UNBOUNCE,
    "facebook": FACEBOOK | FACEBOOK_NOTIFICATION,
    "google": GOOGLE,
    "zapier": FLAT,
    "html_form": FLAT,
    "generic": FLAT,
}
# Where each preset's refusals point: its envelope's fields.
ROOTS = {
    "typeform": ("form_response",),
    "unbounce": ("data.json",),
    "facebook": ("field_data", "entry"),
    "google": ("user_column_data",),
}


# -- mutations: wrong types at every level, keys left out, extra nesting ----------------


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*here, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, shape: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    payload = copy.deepcopy(draw(shape))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(payload)[1:] or [()]))
        if not path:
            break
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        operation = draw(st.sampled_from(["replace", "drop", "nest_list", "nest_object"]))
        if operation == "drop":
            del parent[last]
        elif operation == "replace":
            parent[last] = draw(JSON)
        elif operation == "nest_list":
            parent[last] = [parent[last]]
        else:
            parent[last] = {draw(NAMES): parent[last]}
    return payload


# Unbounce's data.json: JSON text no body rule has looked at.
DATA_JSON_TEXTS = st.sampled_from(
    [
        "",
        "not json",
        '"just text"',
        "[]",
        "null",
        '{"a": "\\u0000"}',
        '{"a\\u0000": "x"}',
        '{"a": "\\ud800"}',
        '{"a": ["\\udfff x"]}',
        '{"a": 1180591620717411303424}',
        '{"a": -1180591620717411303424}',
        '{"a": NaN, "b": Infinity, "c": -Infinity}',
        '{"a": 1e400}',
        '{"a": ' + "[" * 40 + "]" * 40 + "}",
        "[" * 2_000 + "]" * 2_000,
        "[" * 100_000 + "]" * 100_000,
        '{"a": 1,}',
        '{"email": ["x@example.com"], "email": {"x": 1}}',
    ]
)


@st.composite
def spliced(draw: st.DrawFn) -> str:
    """A valid data.json with a few characters put in or taken out somewhere."""
    text = json.dumps(draw(UNBOUNCE_DATA))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = (
                text[:at] + draw(st.sampled_from(['"', "{", "]", ",", "\\", "\\u0000"])) + text[at:]
            )
        else:
            text = text[:at] + text[at + 1 :]
    return text


UNBOUNCE_ODD = st.builds(
    lambda raw, data: {**data, "data.json": raw},
    DATA_JSON_TEXTS | spliced() | TEXT | JSON,
    st.dictionaries(st.sampled_from(["page_url", "page_id", "variant"]), JSON, max_size=2),
)


# -- the property -----------------------------------------------------------------------


def assert_read_or_refused(preset: str, payload: dict[str, Any]) -> None:
    """``payload`` gives a storable payload that intake reads into a submission or a
    refusal naming a field, or the preset's refusal naming a field; the same every time,
    and the payload is left as it was."""
    before = copy.deepcopy(payload)
    outcome = _outcome(preset, payload)
    assert payload == before, "the preset changed the payload it read"
    assert _outcome(preset, payload) == outcome, "the same payload read differently"


def _names_a_field(entry: dict[str, Any]) -> bool:
    return isinstance(entry.get("field"), str) and bool(entry["field"])


def _outcome(preset: str, payload: dict[str, Any]) -> Any:
    try:
        flat = flattened(preset, payload, {})
    except ValidationFailed as refusal:
        return _refused(preset, refusal)
    assert unstorable_values(flat.payload) == [], "the preset gave a value no column stores"
    assert not too_deep(flat.payload)
    assert all(_names_a_field(w) for w in flat.warnings), flat.warnings
    submission, errors = validate(extract(flat.payload, {}), region="US", require_phone=False)
    if submission is None:
        assert errors
        assert all(_names_a_field(e) for e in errors), errors
    return ("read", flat, errors)


def _refused(preset: str, refusal: ValidationFailed) -> Any:
    assert refusal.details, f"a refusal naming no field: {refusal.message}"
    assert all(_names_a_field(d) for d in refusal.details), refusal.details
    assert all(d["field"].startswith(ROOTS[preset]) for d in refusal.details), refusal.details
    return ("refused", refusal.message, refusal.details)


def test_every_preset_has_a_payload_shape_here() -> None:
    assert set(SHAPES) == set(PRESETS)


@PROPERTY
@given(st.data())
def test_a_valid_payload_of_each_preset_is_read(data: st.DataObject) -> None:
    for preset, shape in SHAPES.items():
        payload = data.draw(shape, label=preset)
        assert_read_or_refused(preset, payload)
        if preset != "facebook" or payload.get("object") != "page":
            flattened(preset, payload, {})  # a payload as its sender sends it: never refused


@PROPERTY
@given(st.data())
def test_a_mutated_payload_of_each_preset_is_read_or_refused_naming_a_field(
    data: st.DataObject,
) -> None:
    for preset, shape in SHAPES.items():
        assert_read_or_refused(preset, data.draw(mutated(shape), label=preset))


@PROPERTY
@given(st.data())
def test_any_payload_is_read_or_refused_by_every_preset(data: st.DataObject) -> None:
    payload = data.draw(FLAT)
    for preset in SHAPES:
        assert_read_or_refused(preset, payload)


@PROPERTY
@given(UNBOUNCE_ODD)
def test_any_data_json_is_read_or_refused_naming_it(payload: dict[str, Any]) -> None:
    assert_read_or_refused("unbounce", payload)


def test_a_typeform_email_answer_fills_the_email_and_keeps_its_ref() -> None:
    payload = {
        "form_response": {
            "answers": [
                {"type": "email", "email": "a@example.com", "field": {"ref": "q1"}},
                {"type": "email", "email": {"odd": 1}, "field": {"ref": "q2"}},
            ]
        }
    }
    flat = flattened("typeform", payload, {}).payload
    assert (flat["email"], flat["q1"], flat["q2"]) == ("a@example.com", "a@example.com", {"odd": 1})


def test_data_json_numbers_json_cannot_hold_are_kept_as_their_text_with_a_warning() -> None:
    raw = '{"email": ["a@example.com"], "roof": 1180591620717411303424, "bill": NaN}'
    flat = flattened("unbounce", {"data.json": raw}, {})
    assert (flat.payload["roof"], flat.payload["bill"]) == ("1180591620717411303424", "NaN")
    assert {w["field"] for w in flat.warnings} == {"data.json.roof", "data.json.bill"}
