"""One log format for everything a leadpipe process logs: JSON lines in production, plain
text when stderr is a terminal (``LEADPIPE_LOG_FORMAT``). leadpipe's own loggers
(``leadpipe.*``) and uvicorn's are standard-library loggers; they all end in one handler
whose formatter is structlog's, so nothing is logged twice or in two formats. A record's
``extra`` fields become the line's fields."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["auto", "json", "text"]

deliveries = logging.getLogger("leadpipe.deliveries")


def chosen_format(log_format: str, stream: Any = None) -> Literal["json", "text"]:
    """``auto``: text for a person at a terminal, JSON for whatever collects the logs."""
    if log_format in ("json", "text"):
        return log_format  # type: ignore[return-value]
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def _json(event: EventDict, **_kw: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def _without_uvicorn_colours(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's coloured copy of the message
    return event


LINES = "_lines"
"""A record's ``extra`` that holds several lines' fields: rendered as one line each."""


def _line_each(renderer: Processor) -> Processor:
    def render(logger: WrappedLogger, name: str, event: EventDict) -> Any:
        lines = event.pop(LINES, None)
        if lines is None:
            return renderer(logger, name, event)
        if renderer is _JSON:  # the shared fields once, each line's spliced in: 2 us a line
            shared = _json(event)[1:]
            return "\n".join(_json(line)[:-1] + "," + shared for line in lines)
        return "\n".join(str(renderer(logger, name, {**event, **line})) for line in lines)

    return render


_JSON = structlog.processors.JSONRenderer(serializer=_json)


def formatter(log_format: str = "auto") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the one handler (a ``logging.config`` factory, hence strings)."""
    chosen = chosen_format(log_format)
    pre_chain: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _without_uvicorn_colours,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if chosen == "json":
        pre_chain.append(structlog.processors.format_exc_info)
        renderer = _JSON
    else:
        # Plain tracebacks: rich's would show every frame's locals (bodies, secrets).
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _line_each(renderer),
        ],
    )


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """uvicorn's ``log_config`` (``logging.config.dictConfig``): a root handler on stderr
    with leadpipe's formatter, and uvicorn's loggers handing their records to it. Plain
    data, so that every worker process configures itself the same way."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "leadpipe": {
                "()": "leadpipe.observability.logging.formatter",
                "log_format": log_format,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "leadpipe",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
        },
    }


_OUTCOMES = {"success": "accepted", "error": "refused"}


def outcome_of(status: str) -> str:
    """How a delivery's intake log status reads in logs and metrics."""
    return _OUTCOMES.get(status, status)


def deliveries_logged(lines: list[dict[str, Any]]) -> None:
    """One line each for deliveries whose intake log entries have committed together
    (``delivery_line``): one record for them all (a record costs tens of microseconds, a
    line a few), which leadpipe's formatter writes as one line per delivery (``LINES``)."""
    if lines and deliveries.isEnabledFor(logging.INFO):
        deliveries.info("delivery", extra={LINES: lines})


def delivery_line(entry: dict[str, Any]) -> dict[str, Any]:
    """The fields of a delivery's line, from its intake log entry."""
    provider = entry.get("provider_id")
    return {
        "request_id": entry.get("request_id"),
        "workspace_id": entry.get("workspace_id"),
        "webhook_id": entry.get("webhook_id"),
        "provider_id": str(provider) if provider else None,
        "outcome": outcome_of(entry["status"]),
        "status": entry.get("http_status"),
        "reason": entry.get("error_reason"),
        "processing_ms": entry.get("processing_ms"),
    }
