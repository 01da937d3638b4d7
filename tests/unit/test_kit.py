"""Domain-free helpers."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from leadpipe.kit.coerce import ascii_int, to_bool, to_decimal
from leadpipe.kit.ids import uuid7
from leadpipe.kit.net import client_ip, parse_networks

TRUSTED = parse_networks(("10.0.0.0/8",))


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.9", "198.51.100.9"),  # trusted proxy
        ("10.0.0.2", "6.6.6.6, 198.51.100.9, 10.0.0.3", "198.51.100.9"),  # forged left entry
        ("10.0.0.2", None, "10.0.0.2"),
        (None, "1.2.3.4", None),
    ],
)
def test_client_ip(peer: str | None, forwarded: str | None, expected: str | None) -> None:
    assert client_ip(peer, forwarded, TRUSTED) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        ("yes", True),
        ("On", True),
        (1, True),
        ("false", False),
        ("0", False),
        ("maybe", None),
        (None, None),
    ],
)
def test_to_bool(value: Any, expected: bool | None) -> None:
    assert to_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (25000, Decimal(25000)),
        ("$25,000.50", Decimal("25000.50")),
        (1.5, Decimal("1.5")),
        ("lots", None),
        (True, None),
        ("NaN", None),
    ],
)
def test_to_decimal(value: Any, expected: Decimal | None) -> None:
    assert to_decimal(value) == expected


def test_uuid7_is_increasing_and_versioned() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5000
    assert {u.version for u in ids} == {7}


class TestBatcher:
    async def test_items_submitted_together_are_handled_together_in_order(self) -> None:
        from leadpipe.kit.batching import Batcher

        calls: list[list[int]] = []

        async def handle(items: list[int]) -> list[int | Exception]:
            calls.append(items)
            return [i * 10 for i in items]

        batcher: Batcher[int, int] = Batcher(handle, max_batch=3)
        results = await asyncio.gather(*(batcher.submit(i) for i in range(5)))

        assert results == [0, 10, 20, 30, 40]
        assert calls == [[0, 1, 2], [3, 4]]

    async def test_each_submitter_gets_its_own_outcome(self) -> None:
        from leadpipe.kit.batching import Batcher

        async def handle(items: list[int]) -> list[int | Exception]:
            return [ValueError(f"bad {i}") if i % 2 else i for i in items]

        batcher: Batcher[int, int] = Batcher(handle)
        outcomes = await asyncio.gather(
            *(batcher.submit(i) for i in range(4)), return_exceptions=True
        )

        assert outcomes[0::2] == [0, 2]
        assert [str(e) for e in outcomes[1::2]] == ["bad 1", "bad 3"]

    async def test_a_failed_batch_fails_every_submitter_and_the_next_batch_runs(self) -> None:
        from leadpipe.kit.batching import Batcher

        async def handle(items: list[int]) -> list[int | Exception]:
            if 0 in items:
                raise RuntimeError("disk full")
            return list(items)

        batcher: Batcher[int, int] = Batcher(handle)
        failed = await asyncio.gather(batcher.submit(0), batcher.submit(1), return_exceptions=True)
        assert [str(e) for e in failed] == ["disk full", "disk full"]
        assert await batcher.submit(2) == 2

    async def test_a_handler_that_loses_an_outcome_fails_the_batch_instead_of_hanging(
        self,
    ) -> None:
        from leadpipe.kit.batching import Batcher

        async def handle(items: list[int]) -> list[int | Exception]:
            return list(items)[:-1]

        batcher: Batcher[int, int] = Batcher(handle)
        outcomes = await asyncio.wait_for(
            asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True), 2
        )
        assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]

    async def test_it_tells_how_many_wait_and_for_how_long(self) -> None:
        from leadpipe.kit.batching import Batcher

        release = asyncio.Event()

        async def handle(items: list[int]) -> list[int | Exception]:
            await release.wait()
            return list(items)

        batcher: Batcher[int, int] = Batcher(handle)
        assert (batcher.waiting, batcher.longest_wait()) == (0, 0.0)
        busy = asyncio.create_task(batcher.submit(0))
        await asyncio.sleep(0.01)  # the first batch takes it, and waits
        queued = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
        await asyncio.sleep(0.05)
        assert batcher.waiting == 2
        assert 0.05 <= batcher.longest_wait() < 1

        release.set()
        assert await asyncio.gather(busy, *queued) == [0, 1, 2]
        assert (batcher.waiting, batcher.longest_wait()) == (0, 0.0)

    async def test_items_wait_while_a_batch_is_busy_and_then_go_together(self) -> None:
        from leadpipe.kit.batching import Batcher

        calls: list[list[int]] = []
        release = asyncio.Event()

        async def handle(items: list[int]) -> list[int | Exception]:
            calls.append(items)
            await release.wait()
            return list(items)

        batcher: Batcher[int, int] = Batcher(handle)
        first = [asyncio.create_task(batcher.submit(i)) for i in (0, 1)]
        await asyncio.sleep(0.01)
        later = [asyncio.create_task(batcher.submit(i)) for i in (2, 3, 4)]
        await asyncio.sleep(0.01)
        assert calls == [[0, 1]]  # the first batch is busy: 2, 3 and 4 wait

        release.set()
        assert await asyncio.gather(*first, *later) == [0, 1, 2, 3, 4]
        assert calls == [[0, 1], [2, 3, 4]]


def test_no_api_body_allows_more_text_than_the_field_rules() -> None:
    """One place says how long each field may be; a body may be stricter, never looser."""
    import annotated_types

    from leadpipe.contact_api import schemas as contacts
    from leadpipe.customfields import schemas as customfields
    from leadpipe.intake import schemas as intake
    from leadpipe.kit.bodies import ApiBody
    from leadpipe.kit.fields import TEXT_LIMITS
    from leadpipe.leads import schemas as leads
    from leadpipe.pipeline_api import schemas as pipeline

    bodies = {
        model
        for module in (contacts, customfields, intake, leads, pipeline)
        for model in vars(module).values()
        if isinstance(model, type) and issubclass(model, ApiBody) and model is not ApiBody
    }
    assert len(bodies) >= 10
    for model in bodies:
        for name, field in model.model_fields.items():
            for rule in field.metadata:
                if isinstance(rule, annotated_types.MaxLen) and name in TEXT_LIMITS:
                    assert rule.max_length <= TEXT_LIMITS[name], (model.__name__, name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1700000000),
        ("0", 0),
        ("17²", None),  # str.isdigit says yes, int() refuses
        ("¹²³", None),
        ("\u0661\u0667", None),  # Arabic-Indic digits: int() would read 17
        ("1" * 19, None),  # past max_digits: never handed to int()
        ("1" * 5000, None),
        ("", None),
        ("-1", None),
        (" 1", None),
        ("1_000", None),
    ],
)
def test_ascii_int_reads_only_ascii_digits(text: str, expected: int | None) -> None:
    assert ascii_int(text) == expected
