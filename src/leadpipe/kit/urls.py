"""Which URLs from users and payloads may be followed or shown as links."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

DEFAULT_LANDING = "/app"


def is_web_url(value: object) -> bool:
    """An absolute ``http(s)`` URL with a host: a ``javascript:``, ``data:`` or other
    scheme, or a URL with control characters in it, is never a link or a redirect."""
    if not isinstance(value, str) or not _printable_ascii(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def same_site_path(target: str | None, default: str = DEFAULT_LANDING) -> str:
    """``target`` when it is a path of this site, else ``default``.

    Browsers read ``//host``, ``/\\host`` and ``/<tab>/host`` as another site, drop tabs
    and line breaks, and a CR or LF in a header ends the response: only printable ASCII
    that starts with one slash, decoded or not, is a path of ours."""
    if not target or not _printable_ascii(target) or "\\" in target:
        return default
    for form in (target, unquote(target)):
        if not form.startswith("/") or form.startswith("//") or form[1:2] == "\\":
            return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    return target if not parts.scheme and not parts.netloc else default


def _printable_ascii(value: str) -> bool:
    return all(" " < ch < "\x7f" for ch in value)
