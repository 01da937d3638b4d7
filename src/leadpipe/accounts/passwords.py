"""Password hashes: argon2id with the library's current parameters (argon2-cffi)."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _unmatched_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def spend_a_verification(password: str) -> None:
    """Take as long as checking a password does, for an address with no account: the
    answer's timing must not tell which addresses have one."""
    verify_password(_unmatched_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made with older parameters and should be made again at the next
    successful login."""
    return _hasher.check_needs_rehash(password_hash)
