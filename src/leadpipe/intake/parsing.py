"""Reading a provider's body: size limit, content types, JSON and form decoding."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from leadpipe.errors import (
    LeadpipeError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from leadpipe.kit.coerce import ascii_int
from leadpipe.kit.fields import MAX_JSON_DEPTH, too_deep
from leadpipe.kit.jsonvalues import (
    NestsTooDeep,
    NotJson,
    loads_as_sent,
    numbers_as_text,
    unstorable_text,
)

JSON = "json"
FORM = "form"
MULTIPART = "multipart"
ACCEPTED = "application/json, application/x-www-form-urlencoded or multipart/form-data"


def body_kind(content_type: str | None) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return JSON
    if media == "application/x-www-form-urlencoded":
        return FORM
    if media == "multipart/form-data":
        return MULTIPART
    raise UnsupportedMediaType(f"Content-Type must be {ACCEPTED}, not '{media or 'missing'}'")


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes whether or not Content-Length is sent."""
    declared = ascii_int(request.headers.get("content-length") or "", max_digits=30)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"Body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs as a dict; a repeated key (``tags=a&tags=b``) becomes a list."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(value, UploadFile):
            value = value.filename
        if key in out:
            existing = out[key]
            out[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[key] = value
    return out


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


Warnings = tuple[dict[str, Any], ...]


async def parse_body(kind: str, body: bytes, headers: Headers) -> tuple[dict[str, Any], Warnings]:
    """The payload of a body of ``kind``, with warnings for the numbers kept as the text
    sent; refused when it cannot be read or stored (``refuse_unreadable``)."""
    payload, kept_as_text = await _decode(kind, body, headers)
    if _may_be_unreadable(kind, body):
        refuse_unreadable(payload)
    return payload, kept_as_text_warnings(kept_as_text)


async def read_as_delivery(request: Request) -> tuple[dict[str, Any], Warnings]:
    """A body read and refused as a delivery's is (the dry run's): JSON or a form."""
    body = await request.body()
    return await parse_body(body_kind(request.headers.get("content-type")), body, request.headers)


def refuse_unreadable(payload: dict[str, Any]) -> None:
    """Refuses a payload nested too deep, or whose text no column can store (a NUL
    character, a lone surrogate), naming each field: the one check of webhook intake and
    its dry run alike."""
    if too_deep(payload):
        raise _too_deep()
    unstorable = unstorable_text(payload)
    if unstorable:
        raise ValidationFailed(
            "The lead payload is invalid", [field_error(u.path, u.message) for u in unstorable]
        )


def checked_payload(payload: dict[str, Any]) -> tuple[dict[str, Any], Warnings]:
    """A payload decoded elsewhere (the dry run's, by the API) checked as a delivery's
    body is: refused as ``refuse_unreadable`` says, its unstorable numbers kept as text."""
    refuse_unreadable(payload)
    read = numbers_as_text(payload)
    return read.value, kept_as_text_warnings(read.kept_as_text)


def kept_as_text_warnings(paths: list[str]) -> Warnings:
    return tuple(
        field_error(path or "body", f"{KEPT_AS_TEXT}; kept as the text sent") for path in paths
    )


KEPT_AS_TEXT = "is not a number that can be stored exactly (beyond 64 bits, NaN or Infinity)"


def _too_deep() -> ValidationFailed:
    return ValidationFailed(f"The JSON body nests objects deeper than {MAX_JSON_DEPTH} levels")


# In JSON, the escape of a NUL character or of a surrogate (a pair's, or a lone one's).
_JSON_MARKS = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _may_be_unreadable(kind: str, body: bytes) -> bool:
    """Whether a body holds what its payload must be walked for: a NUL character, a
    surrogate, or more brackets than the depth allowed. Nearly every payload holds none
    and is spared the walk."""
    if kind == JSON:
        too_many_brackets = body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH
        return too_many_brackets or _JSON_MARKS.search(body) is not None
    return b"\x00" in body or (kind == FORM and b"%00" in body)


# Some Windows tools write a byte-order mark before UTF-8 text; JSON parsers may skip it.
_BOM = b"\xef\xbb\xbf"


async def _decode(kind: str, body: bytes, headers: Headers) -> tuple[dict[str, Any], list[str]]:
    """The payload, and the paths of its numbers kept as text (JSON's only)."""
    if kind == JSON:
        try:
            read = loads_as_sent(body.removeprefix(_BOM))
        except NestsTooDeep:
            raise _too_deep() from None
        except NotJson as exc:
            # Where, not the parser's own words: an exception's text is for the server.
            where = re.search(r"line \d+ column \d+", str(exc))
            raise ValidationFailed(
                "Malformed JSON" + (f" at {where[0]}" if where else ""), reason="invalid_json"
            ) from None
        if not isinstance(read.value, dict):
            raise ValidationFailed("The JSON body must be an object", reason="json_not_object")
        return read.value, read.kept_as_text
    if kind == FORM:
        try:
            # Strict: by default the percent-decoding puts U+FFFD for bytes that are not
            # UTF-8, storing a changed value where the same bytes in JSON are refused.
            text = body.removeprefix(_BOM).decode("utf-8")
            return _collect(parse_qsl(text, keep_blank_values=True, errors="strict")), []
        except UnicodeDecodeError:
            raise ValidationFailed("Form body is not valid UTF-8", reason="invalid_form") from None
    try:
        form = await MultiPartParser(headers, _once(body)).parse()
    except MultiPartException:
        raise ValidationFailed("Malformed multipart body", reason="invalid_multipart") from None
    return _collect(list(form.multi_items())), []


async def read_payload(
    request: Request, limit: int
) -> tuple[bytes | None, dict[str, Any] | None, LeadpipeError | None, Warnings]:
    """The body as it came, and its payload (with its warnings) or the reason it cannot
    be had (reported once the webhook is known). A body over the limit is not kept."""
    try:
        body = await read_limited(request, limit)
    except LeadpipeError as exc:
        return None, None, exc, ()
    payload, problem, warnings = await payload_of(body, request.headers)
    return body, payload, problem, warnings


async def payload_of(
    body: bytes, headers: Headers
) -> tuple[dict[str, Any] | None, LeadpipeError | None, Warnings]:
    """A body's payload by its content type and its warnings, or why it cannot be read."""
    try:
        payload, warnings = await parse_body(body_kind(headers.get("content-type")), body, headers)
    except LeadpipeError as exc:
        return None, exc, ()
    return payload, None, warnings


# Headers that carry credentials or signatures: kept as "[redacted]" with a refusal.
_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-provider-key",
        "webhook-signature",
        "x-webhook-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "typeform-signature",
    }
)


def redacted_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The request's headers, to keep beside a refused delivery, without its secrets."""
    return {
        name: "[redacted]" if name in _SECRET_HEADERS else value for name, value in headers.items()
    }


def delivery_key(headers: Headers) -> str | None:
    """The provider's delivery id: Standard Webhooks' ``webhook-id`` or ``Idempotency-Key``."""
    key = headers.get("webhook-id") or headers.get("idempotency-key")
    if not key:
        return None
    key = key.strip()
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
