"""JSON values a database can store exactly, and reading JSON without changing a number."""

from __future__ import annotations

from typing import Any

import pytest

from leadpipe.kit.jsonvalues import (
    BIG_INT_MESSAGE,
    MAX_INT,
    MIN_INT,
    NOT_FINITE_MESSAGE,
    NUL_MESSAGE,
    SURROGATE_MESSAGE,
    NestsTooDeep,
    NotJson,
    Unstorable,
    loads_as_sent,
    numbers_as_text,
    printable,
    unstorable_text,
    unstorable_values,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": "plain", "n": 1, "f": 1.5, "b": True, "z": None}, []),
        ({"a": "x\x00y"}, [Unstorable("a", NUL_MESSAGE)]),
        ({"a": ["ok", {"b": "\ud800"}]}, [Unstorable("a[1].b", SURROGATE_MESSAGE)]),
        ({"k\x00": 1}, [Unstorable("k\\u0000", NUL_MESSAGE)]),
        ({"\udfff": 1}, [Unstorable("\\udfff", SURROGATE_MESSAGE)]),
        ({"emoji": "\U0001f600 é"}, []),  # a surrogate pair decodes to one character
        ("\x00", [Unstorable("", NUL_MESSAGE)]),
        # numbers are not text: only unstorable_values looks at them
        ({"n": 2**70, "f": float("nan")}, []),
    ],
)
def test_unstorable_text(value: Any, expected: list[Unstorable]) -> None:
    assert unstorable_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"n": MAX_INT, "m": MIN_INT, "b": False}, []),
        ({"n": MAX_INT + 1}, [Unstorable("n", BIG_INT_MESSAGE)]),
        ({"n": [MIN_INT - 1]}, [Unstorable("n[0]", BIG_INT_MESSAGE)]),
        (
            {"a": float("nan"), "b": {"c": float("-inf")}},
            [Unstorable("a", NOT_FINITE_MESSAGE), Unstorable("b.c", NOT_FINITE_MESSAGE)],
        ),
        (
            {"t": "x\x00", "n": 2**70},
            [Unstorable("n", BIG_INT_MESSAGE), Unstorable("t", NUL_MESSAGE)],
        ),
        (float("inf"), [Unstorable("", NOT_FINITE_MESSAGE)]),
    ],
)
def test_unstorable_values(value: Any, expected: list[Unstorable]) -> None:
    assert unstorable_values(value) == expected


def test_a_value_nested_past_pythons_stack_is_walked() -> None:
    deep: Any = "\x00"
    for _ in range(5000):
        deep = [deep]
    assert unstorable_text(deep) == [Unstorable("[0]" * 5000, NUL_MESSAGE)]


@pytest.mark.parametrize(
    ("body", "value", "kept"),
    [
        (b'{"a": 1, "b": 2.5}', {"a": 1, "b": 2.5}, []),
        (b'{"a": 1180591620717411303424}', {"a": "1180591620717411303424"}, ["a"]),
        (b'{"a": 18446744073709551615}', {"a": 18446744073709551615}, []),
        (b'{"a": -9223372036854775808}', {"a": -9223372036854775808}, []),
        (b'{"a": -9223372036854775809}', {"a": "-9223372036854775809"}, ["a"]),
        (
            b'{"a": [NaN, Infinity, -Infinity, 1e400]}',
            {"a": ["NaN", "Infinity", "-Infinity", "1e400"]},
            ["a[0]", "a[1]", "a[2]", "a[3]"],
        ),
        (b'{"a": ' + b"7" * 5000 + b"}", {"a": "7" * 5000}, ["a"]),
        # 19 digits in a string: read by the slower reader, to the same value
        (b'{"id": "1234567890123456789", "x": 0.1}', {"id": "1234567890123456789", "x": 0.1}, []),
        (b"NaN", "NaN", [""]),
        # text is not checked here: a lone surrogate is read, for the caller to refuse
        (b'{"a": "\\ud800"}', {"a": "\ud800"}, []),
        ('{"a": 1e999}', {"a": "1e999"}, ["a"]),
    ],
)
def test_loads_as_sent_keeps_every_number_as_sent(
    body: bytes | str, value: Any, kept: list[str]
) -> None:
    read = loads_as_sent(body)
    assert (read.value, read.kept_as_text) == (value, kept)
    assert all(type(v) is str for v in _strings(read.value))


def _strings(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("body", [b"{", b"\xff", b'{"a": nan}', b'{"a": 01}', b""])
def test_loads_as_sent_refuses_what_is_not_json(body: bytes) -> None:
    with pytest.raises(NotJson):
        loads_as_sent(body)


def test_loads_as_sent_says_when_json_nests_too_deep_to_read() -> None:
    with pytest.raises(NestsTooDeep):
        loads_as_sent(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize(
    ("text", "shown"),
    [("plain", "plain"), ("a\x00b", "a\\u0000b"), ("x\ud800", "x\\ud800"), ("é", "é")],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize(
    ("value", "replaced", "kept"),
    [
        ({"a": 1, "b": [2.5, "x"]}, {"a": 1, "b": [2.5, "x"]}, []),
        ({"a": 2**70}, {"a": "1180591620717411303424"}, ["a"]),
        (
            {"a": [float("nan"), {"b": float("inf")}], "c": float("-inf")},
            {"a": ["NaN", {"b": "Infinity"}], "c": "-Infinity"},
            ["a[0]", "a[1].b", "c"],
        ),
        (-(2**64), "-18446744073709551616", [""]),
        ({"t": True, "n": None}, {"t": True, "n": None}, []),
    ],
)
def test_numbers_as_text_reads_as_loads_as_sent_would(
    value: Any, replaced: Any, kept: list[str]
) -> None:
    read = numbers_as_text(value)
    assert (read.value, read.kept_as_text) == (replaced, kept)


@pytest.mark.parametrize(
    "body", [b'{"a": 1180591620717411303424, "b": [NaN, -Infinity]}', b'{"a": {"b": 2}}']
)
def test_numbers_as_text_agrees_with_loads_as_sent(body: bytes) -> None:
    import json

    assert numbers_as_text(json.loads(body)) == loads_as_sent(body)
