"""The local database's schema, as numbered migrations (`PRAGMA user_version`), applied forward on open.

sqlite_utils (and the click and dateutil it loads) costs ~0.3 s at start-up, so it is imported only when
a migration runs (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("lessons").create(
        {
            "id": str,
            "position": int,
            "version": str,
            "summary": str,  # LessonSummary JSON
            "content": str,  # full Lesson JSON, NULL until fetched
            "content_version": str,
            "stale": int,
        },
        pk="id",
        defaults={"stale": 0},
    )
    db.table("answers").create(
        {
            "lesson_id": str,
            "activity_id": str,
            "state": str,
            "client_time": str,
            "revision": int,
            "updated_at": str,
        },
        pk=("lesson_id", "activity_id"),
    )
    db.execute(
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            op_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            lesson_id TEXT NOT NULL,
            activity_id TEXT NOT NULL,
            pupil_id INTEGER,
            payload TEXT NOT NULL,
            client_time TEXT NOT NULL,
            base_revision INTEGER,
            created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )"""
    )
    db.execute("CREATE INDEX outbox_activity ON outbox (lesson_id, activity_id, pupil_id)")
    db.table("rejected").create(
        {
            "op_id": str,
            "kind": str,
            "lesson_id": str,
            "activity_id": str,
            "pupil_id": int,
            "payload": str,
            "client_time": str,
            "reason": str,
            "code": str,
            "rejected_at": str,
        },
        pk="op_id",
    )
    db.table("receipts").create(
        {
            "op_id": str,
            "kind": str,
            "lesson_id": str,
            "activity_id": str,
            "pupil_id": int,
            "client_time": str,
            "received_at": str,
            "revision": int,
            "outcome": str,
            "acknowledged_at": str,
        },
        pk="op_id",
    )
    db.table("marks").create(
        {
            "pupil_id": int,
            "lesson_id": str,
            "activity_id": str,
            "mark": str,  # Mark JSON
            "seen": int,
        },
        pk=("pupil_id", "lesson_id", "activity_id"),
        defaults={"seen": 0},
    )
    db.table("revisions").create(
        {
            "pupil_id": int,
            "lesson_id": str,
            "activity_id": str,
            "revision": int,
            "state": str,
            "client_time": str,
            "received_at": str,
            "op_id": str,
            "device_id": str,
            "current": int,
        },
        pk=("pupil_id", "lesson_id", "activity_id", "revision"),
    )
    db.table("cache").create({"key": str, "value": str, "stored_at": str}, pk="key")


def _migration_2(db: sqlite_utils.Database) -> None:
    """Lesson updates keep answers: a lesson that leaves the manifest is marked removed (its cached
    content kept), and an activity dropped by a new lesson version keeps its definition here, so its
    answers can still be shown, read-only, as archived."""
    db.execute("ALTER TABLE lessons ADD COLUMN removed_at TEXT")
    db.table("retired_activities").create(
        {
            "lesson_id": str,
            "activity_id": str,
            "lesson_title": str,
            "activity": str,  # Activity JSON as last served
            "lesson_version": str,  # the last version that had it
            "retired_at": str,
        },
        pk=("lesson_id", "activity_id"),
    )


#: MIGRATIONS[i] takes the schema from version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2]
SCHEMA_VERSION = len(MIGRATIONS)
