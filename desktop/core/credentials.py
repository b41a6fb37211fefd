"""Where the session token lives between runs: the OS keyring when there is a working one (Windows
Credential Manager, macOS Keychain, Secret Service), otherwise a file only this OS user can read (0600)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

__all__ = ["TokenVault"]

SERVICE = "post16-desktop"


def _usable_keyring() -> bool:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # any import or backend discovery failure means "no keyring"
        return False
    if isinstance(backend, fail.Keyring):
        return False
    priority = getattr(backend, "priority", 0)
    return isinstance(priority, int | float) and priority > 0


class TokenVault:
    def __init__(self, directory: Path, *, use_keyring: bool | None = None) -> None:
        self.directory = directory
        self.use_keyring = _usable_keyring() if use_keyring is None else use_keyring

    @staticmethod
    def _account(server_url: str, username: str) -> str:
        return f"{server_url.rstrip('/')}|{username.lower()}"

    def _file(self, server_url: str, username: str) -> Path:
        digest = hashlib.sha256(self._account(server_url, username).encode()).hexdigest()[:32]
        return self.directory / f"{digest}.token"

    @property
    def backend(self) -> str:
        return "keyring" if self.use_keyring else f"file ({self.directory})"

    def get(self, server_url: str, username: str) -> str | None:
        if self.use_keyring:
            try:
                import keyring

                value = keyring.get_password(SERVICE, self._account(server_url, username))
            except Exception:  # a locked or broken keyring: fall back to the file
                value = None
            if value:
                return value
        path = self._file(server_url, username)
        try:
            return path.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def set(self, server_url: str, username: str, token: str) -> None:
        if self.use_keyring:
            try:
                import keyring

                keyring.set_password(SERVICE, self._account(server_url, username), token)
            except Exception:  # noqa: S110 - fall through to the private file
                pass
            else:
                return
        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.directory.chmod(0o700)
        path = self._file(server_url, username)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(token)
        os.chmod(temporary, 0o600)
        temporary.replace(path)

    def delete(self, server_url: str, username: str) -> None:
        if self.use_keyring:
            try:
                import keyring

                keyring.delete_password(SERVICE, self._account(server_url, username))
            except Exception:  # noqa: S110 - nothing stored there
                pass
        with contextlib.suppress(OSError):
            self._file(server_url, username).unlink()
