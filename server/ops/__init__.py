"""Operations commands that run outside the HTTP server: backups, verification, restore, retention."""

from server.ops._errors import BackupError, BackupInvalid
from server.ops.backup import (
    DEFAULT_KEEP_COUNT,
    DEFAULT_KEEP_DAYS,
    PruneResult,
    VerifyReport,
    create_backup,
    default_backup_dir,
    prune_backups,
    read_metadata,
    restore_backup,
    verify_backup,
)
from server.ops.status import backup_exposition

__all__ = [
    "DEFAULT_KEEP_COUNT",
    "DEFAULT_KEEP_DAYS",
    "BackupError",
    "BackupInvalid",
    "PruneResult",
    "VerifyReport",
    "backup_exposition",
    "create_backup",
    "default_backup_dir",
    "prune_backups",
    "read_metadata",
    "restore_backup",
    "verify_backup",
]
