"""Rendering the dashboard's templates: one Jinja2 environment (autoescaped), the context
every page shares, and the formats values are shown in."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from leadpipe.accounts.rules import may
from leadpipe.accounts.sessions import SignedIn
from leadpipe.contacts.rules import phone_as_read
from leadpipe.kit.clock import utcnow
from leadpipe.kit.urls import is_web_url
from leadpipe.web.rules import (
    choosable,
    full_name,
    initials,
    moment_of,
    name_initials,
    readable_time,
    relative_time,
    shown_value,
    zone,
)
from leadpipe.webhooks.rules import restorable_until

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _digest_of(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


# In asset URLs: browsers keep a versioned asset for a year, so the address changes with
# the content of the files, not only with a release.
STATIC_VERSION = _digest_of(Path(__file__).parent / "static")

# The dashboard loads its scripts and styles from itself only; no inline script runs.
# ``connect-src 'self'`` covers the live socket on the same host (ws: and wss:).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    who: SignedIn | None = getattr(request.state, "signed_in", None)
    shared = {
        "request": request,
        "who": who,
        "may": (lambda action: who is not None and who.role is not None and may(who.role, action)),
        "static_version": STATIC_VERSION,
        "path": request.url.path,
        "is_htmx": request.headers.get("hx-request") == "true",
    }
    response = TEMPLATES.TemplateResponse(
        request, template, {**shared, **context}, status_code=status_code, headers=headers
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str, request: Request) -> Response:
    """A redirect after a form: htmx follows ``HX-Redirect``, a browser the 303."""
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return Response(status_code=303, headers={"Location": url})


def _when(value: datetime | str | None, tz_name: str = "UTC") -> Markup:
    """A moment in the workspace's zone, readable and machine-readable: ``<time
    datetime="2026-12-07T19:05:00+00:00">7 Dec 2026, 14:05</time>``. A text that states
    no moment with its zone (a consent time as a form sent it) is shown as sent."""
    moment = moment_of(value)
    if moment is None:
        return escape(value or "")
    return Markup('<time datetime="{}">{}</time>').format(
        moment.astimezone(UTC).isoformat(), readable_time(moment, zone(tz_name))
    )


def _timed(value: datetime, tz_name: str, text: str, hover: str = "") -> Markup:
    """``text`` about a moment, in ``<time>`` with the moment itself in the workspace's
    zone on hover (after ``hover``)."""
    tz = zone(tz_name)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.astimezone(UTC).isoformat(),
        f"{hover}{readable_time(value, tz)} {value.astimezone(tz).tzname()}",
        text,
    )


def _ago(value: datetime | None, tz_name: str = "UTC", now: datetime | None = None) -> Markup:
    """How long ago (``2 min ago``), with the moment on hover; ``never`` for no moment."""
    if value is None:
        return Markup("never")
    return _timed(value, tz_name, relative_time(value, now or utcnow()))


def _phone(value: str | None, region: str) -> str:
    """A stored phone as the workspace reads it (``contacts.rules.phone_as_read``)."""
    return phone_as_read(value, region) if value else ""


def _lasted(value: datetime | None, tz_name: str = "UTC", now: datetime | None = None) -> Markup:
    """How long a state has lasted (``3 d``, ``5 min``), with when it began on hover."""
    if value is None:
        return Markup("")
    lasted = relative_time(value, now or utcnow()).removesuffix(" ago")
    return _timed(value, tz_name, lasted.replace("just now", "< 1 min"), hover="Since ")


def _money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    return f"${Decimal(value):,.0f}"


def _change(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}%"


_HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def color_of(value: str | None) -> str:
    """A stage's colour for a stylesheet: only ever ``#rrggbb``."""
    return value if value and _HEX_COLOR.match(value) else "#64748b"


def _count(n: int, noun: str) -> str:
    """``1 lead``, ``2,000 leads``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


TEMPLATES.env.filters.update(
    count=_count,
    restorable_until=restorable_until,
    when=_when,
    ago=_ago,
    lasted=_lasted,
    phone=_phone,
    money=_money,
    change=_change,
    color=color_of,
    shown_value=shown_value,
)
TEMPLATES.env.globals.update(
    choosable=choosable, full_name=full_name, initials=initials, name_initials=name_initials
)
# ``{% if url is web_url %}``: only http(s) URLs from users and payloads become links.
TEMPLATES.env.tests["web_url"] = is_web_url
