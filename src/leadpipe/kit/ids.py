"""Identifiers: time-ordered UUIDs, request ids and secret tokens."""

from __future__ import annotations

import os
import secrets
import time
import uuid


def uuid7() -> uuid.UUID:
    """A UUIDv7: random but time-ordered, so new rows append to B-tree indexes."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def request_id() -> str:
    return uuid.uuid4().hex


def token(prefix: str, nbytes: int = 24) -> str:
    """A random URL-safe token such as ``lp_live_…`` for keys shown once."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def short_id(prefix: str, length: int = 10) -> str:
    """A readable public id made of lower-case letters and digits, e.g. ``wh_k3j9x0a2bq``."""
    alphabet = "abcdefghijkmnopqrstuvwxyz23456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))
