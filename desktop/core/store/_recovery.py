"""Keeping the database file private, and what happens when SQLite cannot read it.

A damaged file is moved aside (`*.corrupt-<time>`, with its -wal and -shm) and a fresh one made; the
queued operations SQLite can still read are salvaged first and put back into the new outbox, so a
damaged file loses no answer that was waiting to sync (docs/desktop.md, "Failures")."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "SalvagedOperation",
    "is_corruption",
    "is_disk_full",
    "make_private",
    "move_aside",
    "private_dir",
    "restore_salvaged",
    "salvage_outbox",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def is_corruption(error: sqlite3.DatabaseError) -> bool:
    message = str(error).lower()
    if isinstance(error, sqlite3.OperationalError):
        return "malformed" in message
    return "not a database" in message or "malformed" in message or "encrypted" in message


def is_disk_full(error: sqlite3.Error) -> bool:
    message = str(error).lower()
    return "disk is full" in message or "disk i/o error" in message


@dataclasses.dataclass(frozen=True, slots=True)
class SalvagedOperation:
    """An outbox row read out of a damaged file, exactly as stored."""

    op_id: str
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    payload: str
    client_time: str
    base_revision: int | None
    created_at: str


_OUTBOX_COLUMNS = [field.name for field in dataclasses.fields(SalvagedOperation)]


def salvage_outbox(path: Path) -> list[SalvagedOperation]:
    """Best effort: read queued operations out of a damaged file before it is moved aside."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(
                f"SELECT {', '.join(_OUTBOX_COLUMNS)} FROM outbox ORDER BY seq"  # noqa: S608 (constant names)
            ).fetchall()
            return [SalvagedOperation(**{name: row[name] for name in _OUTBOX_COLUMNS}) for row in rows]
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def restore_salvaged(conn: sqlite3.Connection, operations: Sequence[SalvagedOperation]) -> None:
    conn.executemany(
        f"""INSERT OR IGNORE INTO outbox ({", ".join(_OUTBOX_COLUMNS)})
            VALUES ({", ".join(":" + name for name in _OUTBOX_COLUMNS)})""",  # noqa: S608 (constant names)
        [dataclasses.asdict(operation) for operation in operations],
    )


def move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    path.replace(target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(target.with_name(target.name + suffix))
    return target


def private_dir(directory: Path) -> None:
    """Create `directory` (and its parents) if need be and make it 0700: only this OS user may list or
    open what is inside. Existing folders from older installs are tightened too. On Windows, where
    POSIX modes mean nothing, the per-user profile folder's ACL does this (docs/desktop.md)."""
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if os.name != "nt":
        directory.chmod(PRIVATE_DIR_MODE)


def make_private(database: Path) -> None:
    """The database and its companions (-wal, -shm, -journal) 0600; the database is created empty at
    0600 if missing, so SQLite (which gives its companions the database's mode) never makes a readable
    one."""
    if os.name == "nt":
        return
    if not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for candidate in (database, *(database.with_name(database.name + s) for s in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            candidate.chmod(PRIVATE_FILE_MODE)
