"""The log's format: JSON for collectors, plain text for a person at a terminal."""

from __future__ import annotations

import io
import logging
import sys

import orjson
import pytest

from leadpipe.observability.logging import chosen_format, formatter


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("setting", "stream", "chosen"),
    [
        ("auto", io.StringIO(), "json"),
        ("auto", _Terminal(), "text"),
        ("json", _Terminal(), "json"),
        ("text", io.StringIO(), "text"),
    ],
)
def test_the_format_follows_the_setting_and_the_terminal(
    setting: str, stream: io.StringIO, chosen: str
) -> None:
    assert chosen_format(setting, stream) == chosen


SECRET = "hunter2-secret"


def _record(message: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("leadpipe.test")
    secret = SECRET  # a local of the failing frame, which a traceback must not show
    try:
        raise RuntimeError(f"kaput ({len(secret)})")
    except RuntimeError:
        return logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, message, (), sys.exc_info(), extra=extra
        )


def test_json_lines_carry_the_record_and_its_fields() -> None:
    line = formatter("json").format(_record("unhandled error in %s", path="/x"))
    parsed = orjson.loads(line)
    assert parsed["event"] == "unhandled error in %s"
    assert (parsed["level"], parsed["logger"], parsed["path"]) == ("error", "leadpipe.test", "/x")
    assert "RuntimeError: kaput (14)" in parsed["exception"]
    assert SECRET not in line
    assert "\n" not in line


def test_text_lines_are_plain_and_show_no_locals() -> None:
    text = formatter("text").format(_record("something failed", path="/x"))
    first = text.splitlines()[0]
    assert "something failed" in first
    assert "path=/x" in first
    assert "Traceback (most recent call last)" in text
    assert SECRET not in text
    assert "\x1b[" not in text  # no colours
