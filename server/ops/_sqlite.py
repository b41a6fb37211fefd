"""SQLite side of backups (the embedded default): the online backup API copies a consistent snapshot
while the server keeps running; counts and checksums are read from that copy."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from server.ops._errors import BackupError, BackupInvalid

TableSums = dict[str, dict[str, Any]]


def database_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _copy(source: Path, destination: Path) -> None:
    source_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    destination_db = sqlite3.connect(destination)
    try:
        with destination_db:
            source_db.backup(destination_db, pages=1024)
    finally:
        destination_db.close()
        source_db.close()


def table_sums(path: Path) -> TableSums:
    """Row count and checksum per table: the sha256 of the sorted sha256s of each row's repr."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        sums: TableSums = {}
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            row_hashes = sorted(
                hashlib.sha256(repr(row).encode()).hexdigest()
                for row in connection.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - names from the catalogue
            )
            sums[name] = {
                "rows": len(row_hashes),
                "checksum": hashlib.sha256("".join(row_hashes).encode()).hexdigest(),
            }
        return sums
    finally:
        connection.close()


def _revision(path: Path) -> str | None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with contextlib.suppress(sqlite3.OperationalError):
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            return str(row[0]) if row else None
        return None
    finally:
        connection.close()


def dump(url: str, copy_path: Path) -> dict[str, Any]:
    source = database_path(url)
    if not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    _copy(source, copy_path)
    return {
        "server_version": f"SQLite {sqlite3.sqlite_version}",
        "tables": table_sums(copy_path),
        "schema_revision": _revision(copy_path),
    }


def check(copy_path: Path) -> TableSums:
    """integrity_check on the copy, then its counts and checksums."""
    try:
        connection = sqlite3.connect(f"file:{copy_path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupInvalid(f"the SQLite copy is not a readable database: {error}") from error
    if result != [("ok",)]:
        raise BackupInvalid(f"the SQLite copy fails integrity_check: {result[:3]}")
    return table_sums(copy_path)


def restore(url: str, copy_path: Path) -> None:
    """Copy the backup over the live database with the backup API (safe with WAL and open readers)."""
    target = database_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    source_db = sqlite3.connect(f"file:{copy_path}?mode=ro", uri=True)
    target_db = sqlite3.connect(target, timeout=30)
    try:
        source_db.backup(target_db)
    finally:
        target_db.close()
        source_db.close()


__all__ = ["check", "database_path", "dump", "restore", "table_sums"]
