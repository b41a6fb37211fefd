"""Errors of the operations commands.

BackupError                 something stopped a backup, verification, restore or prune
└── BackupInvalid           the backup itself is damaged or does not match its metadata
"""

from __future__ import annotations


class BackupError(Exception):
    """A backup, verify, restore or prune step failed; the message says which and why."""


class BackupInvalid(BackupError):
    """The backup cannot be trusted: a part is missing, corrupted or disagrees with its metadata."""


__all__ = ["BackupError", "BackupInvalid"]
