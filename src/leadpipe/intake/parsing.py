"""Reading a provider's body: size limit, content types, JSON and form decoding."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
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
from leadpipe.kit.fields import MAX_JSON_DEPTH, nul_paths, too_deep

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
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
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


async def parse_body(kind: str, body: bytes, headers: Headers) -> dict[str, Any]:
    payload = await _decode(kind, body, headers)
    _refuse_nul_characters(kind, body, payload)
    if kind == JSON and _could_nest_too_deep(body) and too_deep(payload):
        raise ValidationFailed(f"The JSON body nests objects deeper than {MAX_JSON_DEPTH} levels")
    return payload


def _could_nest_too_deep(body: bytes) -> bool:
    """A quick look at the bytes: nearly every payload opens too few brackets to nest too
    deep, and is spared the walk through its values."""
    return body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH


# Some Windows tools write a byte-order mark before UTF-8 text; JSON parsers may skip it.
_BOM = b"\xef\xbb\xbf"


async def _decode(kind: str, body: bytes, headers: Headers) -> dict[str, Any]:
    if kind == JSON:
        try:
            payload = orjson.loads(body.removeprefix(_BOM))
        except orjson.JSONDecodeError as exc:
            raise ValidationFailed(f"Malformed JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise ValidationFailed("The JSON body must be an object")
        return payload
    if kind == FORM:
        try:
            # Strict: by default the percent-decoding puts U+FFFD for bytes that are not
            # UTF-8, storing a changed value where the same bytes in JSON are refused.
            text = body.removeprefix(_BOM).decode("utf-8")
            return _collect(parse_qsl(text, keep_blank_values=True, errors="strict"))
        except UnicodeDecodeError:
            raise ValidationFailed("Form body is not valid UTF-8") from None
    try:
        form = await MultiPartParser(headers, _once(body)).parse()
    except MultiPartException as exc:
        raise ValidationFailed(f"Malformed multipart body: {exc.message}") from None
    return _collect(list(form.multi_items()))


# How a NUL character can appear in each kind of body: a quick look at the bytes spares
# nearly every payload the walk through its values.
_NUL_IN_BODY = {JSON: (b"\\u0000",), FORM: (b"%00", b"\x00"), MULTIPART: (b"\x00",)}


def _refuse_nul_characters(kind: str, body: bytes, payload: dict[str, Any]) -> None:
    """Text holding a NUL character cannot be stored (PostgreSQL refuses it in text and
    JSON alike): refused up front, naming each field, instead of failing the write."""
    if not any(mark in body for mark in _NUL_IN_BODY[kind]):
        return
    fields = nul_paths(payload)
    if fields:
        raise ValidationFailed(
            "The lead payload is invalid",
            [field_error(f, "must not contain NUL characters (\\u0000)") for f in fields],
        )


async def read_payload(
    request: Request, limit: int
) -> tuple[bytes | None, dict[str, Any] | None, LeadpipeError | None]:
    """The body as it came, and its payload or the reason it cannot be had (reported once
    the webhook is known). A body over the limit is not kept."""
    try:
        body = await read_limited(request, limit)
    except LeadpipeError as exc:
        return None, None, exc
    payload, problem = await payload_of(body, request.headers)
    return body, payload, problem


async def payload_of(
    body: bytes, headers: Headers
) -> tuple[dict[str, Any] | None, LeadpipeError | None]:
    """A body's payload by its content type, or why it cannot be read."""
    try:
        return await parse_body(body_kind(headers.get("content-type")), body, headers), None
    except LeadpipeError as exc:
        return None, exc


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
