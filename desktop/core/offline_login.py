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

Guessing at the login dialog is slowed as the server slows it: after `FREE_ATTEMPTS` wrong passwords
for one account on this computer, each next try waits 30 s, then 120 s, 300 s and 600 s
(`OfflineAttempts`, kept in a small file beside the stores). A wrong password and an account never
used here count alike. This guards the dialog of a shared laptop; it is not a boundary against
someone who can copy files off the disk (see above).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "FREE_ATTEMPTS",
    "NOBODY_VERIFIER",
    "VERIFIER_KEY",
    "OfflineAttempts",
    "hash_password",
    "verify_password",
]

#: Wrong offline passwords allowed for one account before the waits begin.
FREE_ATTEMPTS = 5
#: The waits after that, as the server's login back-off (README, "Limits").
BACKOFF_SECONDS = (30, 120, 300, 600)

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


class OfflineAttempts:
    """Wrong offline passwords per (server, username) on this computer, and the wait they earn."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock

    @staticmethod
    def _key(server_url: str, username: str) -> str:
        return hashlib.sha256(f"{server_url}\n{username.lower()}".encode()).hexdigest()

    def _load(self) -> dict[str, dict[str, float]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, float]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        with contextlib.suppress(OSError):
            os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def wait_seconds(self, server_url: str, username: str) -> int:
        """Seconds before the next offline try for this account is looked at (0: now)."""
        entry = self._load().get(self._key(server_url, username), {})
        return max(0, int(float(entry.get("locked_until", 0)) - self.clock() + 0.999))

    def failed(self, server_url: str, username: str) -> None:
        data = self._load()
        key = self._key(server_url, username)
        entry = data.get(key, {})
        failures = int(entry.get("failures", 0)) + 1
        locked_until = float(entry.get("locked_until", 0))
        if failures >= FREE_ATTEMPTS:
            step = min(failures - FREE_ATTEMPTS, len(BACKOFF_SECONDS) - 1)
            locked_until = self.clock() + BACKOFF_SECONDS[step]
        data[key] = {"failures": failures, "locked_until": locked_until}
        self._save(data)

    def succeeded(self, server_url: str, username: str) -> None:
        data = self._load()
        if data.pop(self._key(server_url, username), None) is not None:
            self._save(data)
