"""Passwords (argon2id), opaque session tokens and their hashes, constant-time comparisons."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with OWASP's recommended parameters (Password Storage Cheat Sheet: 19 MiB, 2 passes, one
# lane). argon2-cffi's default profile (RFC 9106 "low memory": 64 MiB, 3 passes, 4 lanes) cost 175 ms
# of CPU per check here, so 30 classes logging in at 9:00 queued for minutes on a 2-core server; this
# costs about 22 ms. Hashes made with other parameters are upgraded at the user's next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


PASSWORD_SLOTS = max(1, os.cpu_count() or 1)
_slots: asyncio.Semaphore | None = None


def password_work() -> asyncio.Semaphore:
    """The process's slots for argon2 work (~20 ms of CPU each here). Created on first use, in the loop.

    Hashing runs in threads (argon2-cffi releases the GIL) so the event loop keeps serving other
    requests, and at most one hash per core runs at a time."""
    global _slots  # noqa: PLW0603 - one limiter per process, by design
    if _slots is None:
        _slots = asyncio.Semaphore(PASSWORD_SLOTS)
    return _slots


async def hash_password_async(password: str) -> str:
    async with password_work():
        return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    async with password_work():
        return await asyncio.to_thread(verify_password, password_hash, password)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) spends the same effort and says no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


__all__ = [
    "hash_password",
    "hash_password_async",
    "needs_rehash",
    "new_token",
    "password_work",
    "same",
    "token_hash",
    "verify_password",
    "verify_password_async",
]
