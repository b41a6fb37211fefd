"""Logging in again while the school server cannot be reached.

A pupil who logged out (or whose session ended) must not be locked out of their own lessons because
the Wi-Fi is down. At each successful online login the app keeps, in that user's own store on this
computer, a *verifier* of the password: a salted, deliberately slow scrypt hash (hashlib, no extra
dependency; N=2^15, r=8, p=1: 32 MiB and tens of milliseconds per guess). Offline, the password typed
is checked against it; never a token, never the password itself.

What it lets in: only a user who has logged in on this computer before, with the password they used
then, and only to their own local store (their own answers and cached lessons; nothing is sent until
the server is back and accepts a real login). The trade-off, documented in docs/desktop.md: someone
who copies the store file can try passwords against the verifier offline (slowly), and a password
changed on the server keeps opening the local copy until the next online login replaces the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["NOBODY_VERIFIER", "VERIFIER_KEY", "hash_password", "verify_password"]

#: The store's meta key that holds the verifier.
VERIFIER_KEY = "offline_password_verifier"

_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


#: Checked when the username has no verifier here: the same parameters (so the same time to check)
#: and random bytes no password hashes to, so a stranger and a wrong password look alike.
NOBODY_VERIFIER = (
    f"scrypt${_N}${_R}${_P}${_encode(secrets.token_bytes(16))}${_encode(secrets.token_bytes(32))}"
)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash`, the parameters kept so they can be raised later."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_encode(salt)}${_encode(digest)}"


def verify_password(password: str, verifier: str | None) -> bool:
    """True only when `verifier` is one of ours and the password matches it (constant-time compare)."""
    if not verifier:
        return False
    try:
        scheme, n, r, p, salt, expected = verifier.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=32,
        )
    except (ValueError, TypeError):  # a damaged or foreign value: never a match
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))
