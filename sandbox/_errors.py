"""Exceptions the runner raises. Everything else (Docker down, a hostile program) becomes a `RunResult`.

SandboxError
├── SandboxBusy          the queue is full: try again in `retry_after_seconds`
└── SandboxInputError    the request breaks a cap (also a ValueError); the message names the field
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base class of the sandbox's own exceptions."""


class SandboxBusy(SandboxError):
    """Too many runs are waiting; the caller should answer "busy, retry in N s" (HTTP 429/503)."""

    def __init__(self, retry_after_seconds: int, message: str = "") -> None:
        self.retry_after_seconds = retry_after_seconds
        reason = message or "the sandbox is busy"
        super().__init__(f"{reason}; try again in {retry_after_seconds} s")


class SandboxInputError(SandboxError, ValueError):
    """A request the sandbox refuses to run (too large, a bad file name, ...)."""


__all__ = ["SandboxBusy", "SandboxError", "SandboxInputError"]
