"""Identifiers: time-ordered UUIDs, request ids and secret tokens."""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid

_uuid7_lock = threading.Lock()
_uuid7_last = [0, 0]  # [milliseconds, 12-bit counter]


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): time-ordered, so new rows append to B-tree indexes.

    Within one millisecond a 12-bit counter keeps ids of this process increasing, so rows
    written together (a lead's first activities) sort in the order they were made.
    """
    with _uuid7_lock:
        millis = time.time_ns() // 1_000_000
        last_millis, counter = _uuid7_last
        if millis <= last_millis:
            millis, counter = last_millis, counter + 1
            if counter > 0xFFF:
                millis, counter = millis + 1, 0
        else:
            counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count
        _uuid7_last[:] = [millis, counter]
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= counter << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
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
