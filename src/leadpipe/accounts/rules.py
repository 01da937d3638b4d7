"""API keys: how they look and how they are stored (hashed, shown once)."""

from __future__ import annotations

import hashlib

from leadpipe.kit.ids import token

KEY_PREFIX = "lp_"
SCOPES = ("read", "write", "admin")


def new_api_key() -> str:
    return token(KEY_PREFIX, 24)


def hash_api_key(key: str) -> str:
    # Keys are 192 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]
