"""Numbers as forms and people write them (kit.coerce.read_number), and what intake does
with an amount it cannot store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from leadpipe.kit.coerce import read_number
from leadpipe.payloads.mapping import Extracted
from leadpipe.payloads.rules import validate


@pytest.mark.parametrize(
    ("sent", "number"),
    [
        (25000, Decimal(25000)),
        (1.5, Decimal("1.5")),
        (Decimal("7.25"), Decimal("7.25")),
        ("25000", Decimal(25000)),
        ("25,000", Decimal(25000)),
        ("$12,500.00", Decimal("12500.00")),
        ("$25,000.50", Decimal("25000.50")),
        ("1,234,567", Decimal(1234567)),
        ("$100k", Decimal(100000)),
        ("10k", Decimal(10000)),
        ("12.5K", Decimal(12500)),
        ("1.2M", Decimal(1200000)),
        ("2mm", Decimal(2000000)),
        ("5.5bn", Decimal(5500000000)),
        ("1B", Decimal(1000000000)),
        (" $ 100 k ", Decimal(100000)),
        ("€1.5k", Decimal(1500)),
        ("£900", Decimal(900)),
        ("100 USD", Decimal(100)),
        ("USD 100", Decimal(100)),
        ("1 000", Decimal(1000)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("-5", Decimal(-5)),
        ("$-5", Decimal(-5)),
        ("1e5", Decimal(100000)),
    ],
)
def test_a_written_number_reads_as_the_number_it_means(sent: Any, number: Decimal) -> None:
    read = read_number(sent)
    assert read.number == number
    assert read.problem is None


def test_a_magnitude_multiplies_without_an_exponent_in_the_result() -> None:
    assert str(read_number("$100k").number) == "100000"


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        ("a lot", "'a lot' is not a number"),
        ("", "'' is not a number"),
        ("k", "'k' is not a number"),
        ("$", "'$' is not a number"),
        ("1,5", "'1,5' is not a number"),  # a decimal comma or a typo: not guessed
        ("12,50", "'12,50' is not a number"),
        ("+-5", "'+-5' is not a number"),
        ("2.5e3k", "'2.5e3k' is not a number"),
        ("NaN", "'NaN' is not a number"),
        ("$100k-$200k", "'$100k-$200k' is a range, not one number"),
        ("100-200", "'100-200' is a range, not one number"),
        ("10 to 20k", "'10 to 20k' is a range, not one number"),
        ("1" * 41, "is longer than 40 characters"),
        (float("inf"), "is not finite"),
        (True, "is not a number"),
        (None, "is not a number"),
        ({"amount": 5}, "is not a number"),
    ],
)
def test_what_cannot_be_read_says_why(sent: Any, problem: str) -> None:
    read = read_number(sent)
    assert read.number is None
    assert read.problem == problem


@pytest.mark.parametrize(
    ("sent", "stored", "warning"),
    [
        ("$100k", Decimal("100000.00"), None),
        ("1.2M", Decimal("1200000.00"), None),
        ("$12,500.00", Decimal("12500.00"), None),
        ("$100k-$200k", None, "'$100k-$200k' is a range, not one number"),
        ("-5", None, "-5 is not an amount from 0 to 9999999999999.99"),
        ("20000000000000", None, "20000000000000 is not an amount from 0 to"),
    ],
)
def test_an_estimated_value_is_stored_or_kept_as_sent_with_why(
    sent: str, stored: Decimal | None, warning: str | None
) -> None:
    extracted = Extracted(
        fields={"email": "jane@example.com", "estimated_value": sent}, custom_fields={}
    )
    sub, errors = validate(extracted, region="US", require_phone=False)
    assert errors == []
    assert sub is not None
    assert sub.lead.get("estimated_value") == stored
    if warning is None:
        assert sub.warnings == ()
        assert "estimated_value" not in sub.custom_fields
    else:
        (only,) = sub.warnings
        assert only["field"] == "estimated_value"
        assert only["message"].startswith(warning)
        assert only["message"].endswith("kept as sent in custom_fields")
        assert sub.custom_fields["estimated_value"] == sent
