"""`post16-server backup | verify-backup | restore | prune-backups`: argparse wiring and exit codes.

Exit codes: 0 done; 1 the operation failed (or the backup failed verification); 2 refused or
misused (restore without --force, a path that is not a backup).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from server.config import Settings
from server.ops._errors import BackupError, BackupInvalid
from server.ops.backup import (
    DEFAULT_KEEP_COUNT,
    DEFAULT_KEEP_DAYS,
    create_backup,
    default_backup_dir,
    prune_backups,
    restore_backup,
    verify_backup,
)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    try:
        path = create_backup(settings, args.dir)
    except BackupError as error:
        _error(f"backup failed: {error}")
        return 1
    print(path)
    return 0


def cmd_verify_backup(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = verify_backup(settings, args.path)
    except BackupInvalid as error:
        _error(f"backup FAILED verification: {error}")
        return 1
    except BackupError as error:
        _error(f"could not verify the backup: {error}")
        return 1
    print(
        f"backup OK: {report.path} restored into a scratch copy; {report.tables} tables, "
        f"{report.rows} rows, counts and checksums match (schema {report.schema_revision})"
    )
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    if not args.force:
        _error(
            "refusing to restore without --force: this REPLACES the database and the data folder with "
            f"the backup's contents. Stop the API, then run: post16-server restore {args.path} --force"
        )
        return 2
    if not args.path.is_dir():
        _error(f"{args.path} is not a backup folder")
        return 2
    try:
        document = restore_backup(settings, args.path)
    except BackupInvalid as error:
        _error(f"refusing to restore: the backup FAILED verification: {error}")
        return 1
    except BackupError as error:
        _error(f"restore failed: {error}")
        return 1
    print(f"restored {args.path} (made {document['created_at']}); start the API again")
    print(
        f"every session was revoked ({document['sessions_revoked']} live in the backup): everyone, "
        "on the web console and the desktop app, logs in again; answers queued on laptops are kept"
    )
    return 0


def cmd_prune_backups(settings: Settings, args: argparse.Namespace) -> int:
    directory = args.dir or default_backup_dir(settings)
    try:
        result = prune_backups(directory, keep_days=args.keep_days, keep_count=args.keep_count)
    except BackupError as error:
        _error(f"prune failed: {error}")
        return 1
    for path in result.deleted:
        print(f"deleted {path}")
    for path in result.unreadable:
        print(f"left alone (metadata unreadable): {path}", file=sys.stderr)
    print(f"kept {len(result.kept)} backup(s), deleted {len(result.deleted)}")
    return 0


def add_commands(commands: Any) -> None:
    """Register the backup subcommands on the `post16-server` subparsers."""
    backup = commands.add_parser("backup", help="back up the database and data folder; prints its path")
    backup.add_argument("--dir", type=Path, help="backup folder (default: POST16_BACKUP_DIR or DATA/backups)")
    backup.set_defaults(func=cmd_backup)

    verify = commands.add_parser("verify-backup", help="restore a backup into a scratch database and compare")
    verify.add_argument("path", type=Path)
    verify.set_defaults(func=cmd_verify_backup)

    restore = commands.add_parser("restore", help="replace the database and data folder with a backup")
    restore.add_argument("path", type=Path)
    restore.add_argument("--force", action="store_true", help="really replace the current data")
    restore.set_defaults(func=cmd_restore)

    prune = commands.add_parser("prune-backups", help="delete backups by age and count")
    prune.add_argument("--dir", type=Path, help="backup folder (default: POST16_BACKUP_DIR or DATA/backups)")
    prune.add_argument("--keep-days", type=int, default=DEFAULT_KEEP_DAYS)
    prune.add_argument("--keep-count", type=int, default=DEFAULT_KEEP_COUNT)
    prune.set_defaults(func=cmd_prune_backups)


__all__ = ["add_commands"]
