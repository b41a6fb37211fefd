"""The per-user local database: lesson cache, answers, the outbox, marks, receipts and the pull cursor.

One SQLite file per (server, user), so another pupil on the same laptop never sends, sees or overwrites
someone else's queue (docs/architecture.md, invariant 6). WAL with `synchronous=FULL`: `save_answer`
returns only after the answer and its outbox operation are committed to disk in one transaction, which is
when the UI may say "saved". An operation leaves the outbox only when the server's answer for it arrives
(`acknowledge`); a refused one moves to `rejected`, where the pupil can still see it.

The schema is versioned (`PRAGMA user_version`) and migrated forward step by step on open. A file SQLite
cannot read is moved aside (its outbox salvaged when possible) and a fresh one is created; `recovered_from`
then names the moved file so the UI can say so, and the next sync pulls everything again.

Each thread gets its own connection (the sync engine runs off the UI thread).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from desktop.core.errors import StoreError, StoreFullError
from shared.lessons.model import Activity, Lesson, LessonSummary
from shared.wire.marks import Mark
from shared.wire.sync import (
    LessonEvent,
    MarkEvent,
    Operation,
    OperationResult,
    PullItem,
    RevisionEvent,
)

if TYPE_CHECKING:  # sqlite_utils (and the click and dateutil it loads) costs ~0.3 s at start-up:
    import sqlite_utils  # it is imported only when a migration runs (docs/performance.md)

__all__ = [
    "SCHEMA_VERSION",
    "AckSummary",
    "Answer",
    "ArchivedAnswer",
    "ClassWork",
    "LocalMark",
    "PendingOperation",
    "PullApplied",
    "Receipt",
    "RejectedOperation",
    "Store",
    "StoredRevision",
    "TeacherRevision",
    "make_private",
    "private_dir",
]

_lesson_decoder = msgspec.json.Decoder(Lesson)
_activity_decoder: msgspec.json.Decoder[Activity] = msgspec.json.Decoder(Activity)
_summaries_decoder = msgspec.json.Decoder(list[LessonSummary])
_mark_decoder = msgspec.json.Decoder(Mark)
_encoder = msgspec.json.Encoder()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


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


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    lesson_id: str
    activity_id: str
    state: dict[str, Any]
    client_time: datetime
    revision: int | None
    #: True while an operation for this activity waits in the outbox.
    pending: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ArchivedAnswer:
    """An answer to an activity the current lessons no longer have: kept, shown read-only.

    `lesson_removed` is true when the whole lesson left the manifest, false when a new version of a
    lesson still served dropped the activity. `activity` is the definition as last served (None if this
    computer never downloaded it). `pending` / `rejected_reason` say whether the last change still waits
    in the outbox or was refused by the server (it is kept either way)."""

    lesson_id: str
    lesson_title: str
    activity_id: str
    activity: Activity | None
    state: dict[str, Any]
    client_time: datetime
    revision: int | None
    pending: bool
    rejected_reason: str | None
    lesson_removed: bool

    @property
    def title(self) -> str:
        return self.activity.title if self.activity is not None else self.activity_id


@dataclasses.dataclass(frozen=True, slots=True)
class PendingOperation:
    op_id: uuid.UUID
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    client_time: datetime
    attempts: int
    last_error: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class RejectedOperation:
    op_id: uuid.UUID
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    payload: dict[str, Any]
    client_time: datetime
    reason: str
    code: str | None
    rejected_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """The server's acknowledgement of one operation: what, when it was saved here, when it arrived."""

    op_id: uuid.UUID
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    client_time: datetime
    received_at: datetime | None
    revision: int | None
    outcome: str


@dataclasses.dataclass(frozen=True, slots=True)
class StoredRevision:
    revision: int
    state: dict[str, Any]
    client_time: datetime
    received_at: datetime
    op_id: str
    device_id: str | None
    current: bool


@dataclasses.dataclass(frozen=True, slots=True)
class LocalMark:
    """A mark as this computer knows it; `pending` while a `mark.set` for it waits in the outbox."""

    mark: Mark
    pending: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ClassWork:
    """What this computer knows of a class's work, read in bulk for the teacher's grid: marks by
    (pupil, lesson, activity), and the newest version number of each answer pulled here."""

    marks: dict[tuple[int, str, str], LocalMark]
    answered: dict[tuple[int, str, str], int]


@dataclasses.dataclass(frozen=True, slots=True)
class TeacherRevision:
    """A pupil's answer version pulled to a teacher's computer (for archived answers)."""

    pupil_id: int
    lesson_id: str
    activity_id: str
    revision: int
    state: dict[str, Any]
    client_time: datetime
    current: bool


@dataclasses.dataclass(slots=True)
class AckSummary:
    acknowledged: int = 0
    rejected: int = 0
    #: Answers for operations this store no longer holds (late or replayed acknowledgements): ignored.
    unknown: int = 0
    rejections: list[RejectedOperation] = dataclasses.field(default_factory=list)
    #: Operations the server left for later (`rate_limited`): still queued, in their place.
    deferred: int = 0
    #: The longest `retry_after` among them, in seconds.
    retry_after: float = 0.0


@dataclasses.dataclass(slots=True)
class PullApplied:
    revisions: int = 0
    new_marks: list[Mark] = dataclasses.field(default_factory=list)
    lessons_changed: list[str] = dataclasses.field(default_factory=list)
    answers_replaced: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _is_corruption(error: sqlite3.DatabaseError) -> bool:
    message = str(error).lower()
    if isinstance(error, sqlite3.OperationalError):
        return "malformed" in message
    return "not a database" in message or "malformed" in message or "encrypted" in message


def _is_disk_full(error: sqlite3.Error) -> bool:
    message = str(error).lower()
    return "disk is full" in message or "disk i/o error" in message


class Store:
    """One user's local data. Open with `Store.open(path)`; every public method is thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recovered_from: Path | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._trace: Callable[[str], None] | None = None

    # -- opening, closing, migrations ---------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating or migrating) the database; a damaged file is moved aside and replaced.
        The folder and the database files are private to this OS user (`make_private`)."""
        private_dir(path.parent)
        make_private(path)
        store = cls(path)
        try:
            store._prepare()
            make_private(path)  # the -wal and -shm files SQLite has just made
        except sqlite3.DatabaseError as error:
            if not _is_corruption(error):
                store.close()
                raise StoreError(f"The local database {path} cannot be opened: {error}") from error
            store.close()
            salvaged = _salvage_outbox(path)
            moved = _move_aside(path)
            make_private(path)
            store = cls(path)
            store._prepare()
            make_private(path)
            store._restore_salvaged(salvaged)
            store.recovered_from = moved
        return store

    def _prepare(self) -> None:
        db = self._connection()
        result = db.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({result})")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"The local database {self.path} was written by a newer version of the app "
                f"(schema {version}, this app knows {SCHEMA_VERSION}); please update the app."
            )
        for step in range(version, SCHEMA_VERSION):
            import sqlite_utils  # only to migrate (see the TYPE_CHECKING import)

            with self._transaction() as conn:
                MIGRATIONS[step](sqlite_utils.Database(conn))
                conn.execute(f"PRAGMA user_version = {step + 1}")
        if self.get_meta("device_id") is None:
            self.set_meta("device_id", f"desktop-{uuid.uuid4().hex[:16]}")

    def _restore_salvaged(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            with self._transaction() as conn:
                _restore_salvaged_rows(conn, rows)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("The local database is closed.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            if self._trace is not None:
                conn.set_trace_callback(self._trace)
            with self._lock:
                self._connections.append(conn)
        return conn

    def _db(self) -> sqlite_utils.Database:
        import sqlite_utils  # see the TYPE_CHECKING import

        return sqlite_utils.Database(self._connection())

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            if _is_disk_full(error):
                raise StoreFullError(
                    "Not saved: the disk is full. Free some space; your answer is still on screen."
                ) from error
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()

    def schema_version(self) -> int:
        return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

    # -- meta -----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        with self._transaction() as conn:
            _set_meta(conn, key, value)

    @property
    def device_id(self) -> str:
        return self.get_meta("device_id") or "desktop-unknown"

    @property
    def user_id(self) -> int | None:
        value = self.get_meta("user_id")
        return None if value is None else int(value)

    def pull_cursor(self) -> str | None:
        return self.get_meta("pull_cursor")

    def last_sync(self) -> datetime | None:
        return _parse(self.get_meta("last_sync"))

    def record_sync(self, moment: datetime) -> None:
        self.set_meta("last_sync", _iso(moment))

    # -- lessons --------------------------------------------------------------------------------

    def save_lesson_index(self, summaries: Sequence[LessonSummary]) -> list[str]:
        """Store the server's lesson list; returns ids whose cached content is missing or out of date.

        A lesson no longer listed is marked removed, not deleted: its answers stay, shown as archived."""
        wanted = {summary.id for summary in summaries}
        moment = _iso(_now())
        with self._transaction() as conn:
            for position, summary in enumerate(summaries):
                conn.execute(
                    """INSERT INTO lessons (id, position, version, summary, stale) VALUES (?, ?, ?, ?, 0)
                       ON CONFLICT (id) DO UPDATE SET position = excluded.position,
                         version = excluded.version, summary = excluded.summary, removed_at = NULL""",
                    (summary.id, position, summary.version, _encoder.encode(summary).decode()),
                )
            for (lesson_id,) in conn.execute("SELECT id FROM lessons WHERE removed_at IS NULL").fetchall():
                if lesson_id not in wanted:
                    conn.execute("UPDATE lessons SET removed_at = ? WHERE id = ?", (moment, lesson_id))
            _set_meta(conn, "lesson_index_at", moment)
            rows = conn.execute(
                """SELECT id FROM lessons WHERE removed_at IS NULL AND (content IS NULL
                   OR content_version IS NOT version OR stale = 1) ORDER BY position"""
            ).fetchall()
        return [row[0] for row in rows]

    def lesson_summaries(self) -> list[LessonSummary]:
        """The lessons the server serves now, in its order (removed ones are left out)."""
        rows = (
            self._connection()
            .execute("SELECT summary FROM lessons WHERE removed_at IS NULL ORDER BY position")
            .fetchall()
        )
        return _summaries_decoder.decode("[" + ",".join(row[0] for row in rows) + "]")

    def lesson_removed(self, lesson_id: str) -> bool:
        row = (
            self._connection().execute("SELECT removed_at FROM lessons WHERE id = ?", (lesson_id,)).fetchone()
        )
        return row is not None and row[0] is not None

    def save_lesson(self, lesson: Lesson) -> None:
        """Cache a lesson's content. Activities the previous cached version had and this one lacks keep
        their definition in `retired_activities`, so answers to them can still be shown (archived)."""
        content = _encoder.encode(lesson).decode()
        moment = _iso(_now())
        current_ids = {activity.id for activity in lesson.activities}
        with self._transaction() as conn:
            row = conn.execute("SELECT content FROM lessons WHERE id = ?", (lesson.id,)).fetchone()
            if row is not None and row[0] is not None:
                previous = _lesson_decoder.decode(row[0])
                for activity in previous.activities:
                    if activity.id not in current_ids:
                        conn.execute(
                            """INSERT OR REPLACE INTO retired_activities (lesson_id, activity_id,
                                 lesson_title, activity, lesson_version, retired_at)
                               VALUES (?, ?, ?, ?, ?, ?)""",
                            (
                                lesson.id,
                                activity.id,
                                previous.title,
                                _encoder.encode(activity).decode(),
                                previous.version,
                                moment,
                            ),
                        )
            conn.executemany(
                "DELETE FROM retired_activities WHERE lesson_id = ? AND activity_id = ?",
                [(lesson.id, activity_id) for activity_id in current_ids],
            )
            updated = conn.execute(
                """UPDATE lessons SET content = ?, content_version = ?, stale = 0, removed_at = NULL
                   WHERE id = ?""",
                (content, lesson.version, lesson.id),
            ).rowcount
            if not updated:
                summary = _encoder.encode(lesson.to_summary()).decode()
                position = conn.execute("SELECT COUNT(*) FROM lessons").fetchone()[0]
                conn.execute(
                    """INSERT INTO lessons (id, position, version, summary, content, content_version, stale)
                       VALUES (?, ?, ?, ?, ?, ?, 0)""",
                    (lesson.id, position, lesson.version, summary, content, lesson.version),
                )

    def lesson(self, lesson_id: str) -> Lesson | None:
        row = (
            self._connection()
            .execute("SELECT content FROM lessons WHERE id = ? AND content IS NOT NULL", (lesson_id,))
            .fetchone()
        )
        return None if row is None else _lesson_decoder.decode(row[0])

    def stale_lessons(self) -> list[str]:
        rows = (
            self._connection()
            .execute("SELECT id FROM lessons WHERE stale = 1 AND removed_at IS NULL")
            .fetchall()
        )
        return [row[0] for row in rows]

    def archived_answers(self, lesson_id: str | None = None) -> list[ArchivedAnswer]:
        """Answers to activities the current lessons no longer have (dropped by a lesson update, or in a
        lesson removed from the manifest), newest first within each lesson. Nothing here is ever deleted:
        an activity or lesson that comes back takes its answers back."""
        conn = self._connection()
        index_known = self.get_meta("lesson_index_at") is not None
        query = "SELECT lesson_id, activity_id, state, client_time, revision FROM answers"
        params: tuple[Any, ...] = ()
        if lesson_id is not None:
            query += " WHERE lesson_id = ?"
            params = (lesson_id,)
        answers = conn.execute(query + " ORDER BY lesson_id, client_time DESC", params).fetchall()
        if not answers:
            return []
        lessons: dict[str, tuple[int, str, str | None, str | None]] = {
            row[0]: (row[1], row[2], row[3], row[4])
            for row in conn.execute("SELECT id, position, summary, content, removed_at FROM lessons")
        }
        retired = {
            (row[0], row[1]): (row[2], row[3])
            for row in conn.execute(
                "SELECT lesson_id, activity_id, lesson_title, activity FROM retired_activities"
            )
        }
        pending = {
            (row[0], row[1])
            for row in conn.execute("SELECT lesson_id, activity_id FROM outbox WHERE kind = 'activity.save'")
        }
        rejected: dict[tuple[str, str], str] = {}
        for row in conn.execute(
            """SELECT lesson_id, activity_id, reason FROM rejected WHERE kind = 'activity.save'
               ORDER BY rejected_at"""
        ):
            rejected[(row[0], row[1])] = row[2]
        decoded: dict[str, tuple[str, Lesson | None, set[str]]] = {}
        found: list[tuple[int, ArchivedAnswer]] = []
        for answer_lesson, activity_id, state, client_time, revision in answers:
            key = (answer_lesson, activity_id)
            lesson_row = lessons.get(answer_lesson)
            retired_row = retired.get(key)
            activity: Activity | None = None
            if retired_row is not None:
                activity = _activity_decoder.decode(retired_row[1])
            if lesson_row is None:
                if not index_known:
                    continue  # the lesson list has not arrived yet: nothing to judge by
                position, lesson_title, removed = (
                    1_000_000,
                    retired_row[0] if retired_row else answer_lesson,
                    True,
                )
            else:
                position, summary_json, content_json, removed_at = lesson_row
                if answer_lesson not in decoded:
                    summary = msgspec.json.decode(summary_json, type=LessonSummary)
                    content = _lesson_decoder.decode(content_json) if content_json else None
                    # Current: in the cached content (what the lesson view shows) or in the server's
                    # list (content not downloaded yet); a lesson mid-update never archives an answer.
                    current = {a.id for a in summary.activities}
                    if content is not None:
                        current |= {a.id for a in content.activities}
                    decoded[answer_lesson] = (summary.title, content, current)
                lesson_title, content, current = decoded[answer_lesson]
                removed = removed_at is not None
                if not removed and activity_id in current:
                    continue
                if activity is None and content is not None:
                    activity = next((a for a in content.activities if a.id == activity_id), None)
            found.append(
                (
                    position,
                    ArchivedAnswer(
                        lesson_id=answer_lesson,
                        lesson_title=lesson_title,
                        activity_id=activity_id,
                        activity=activity,
                        state=json.loads(state),
                        client_time=datetime.fromisoformat(client_time),
                        revision=revision,
                        pending=key in pending,
                        rejected_reason=None if key in pending else rejected.get(key),
                        lesson_removed=removed,
                    ),
                )
            )
        found.sort(key=lambda item: (item[0], item[1].lesson_id, -item[1].client_time.timestamp()))
        return [answer for _, answer in found]

    # -- answers and the outbox -----------------------------------------------------------------

    def save_answer(
        self, lesson_id: str, activity_id: str, state: dict[str, Any], *, now: datetime | None = None
    ) -> uuid.UUID:
        """Write the answer and queue its `activity.save` operation in one durable transaction."""
        moment = now or _now()
        op_id = uuid.uuid4()
        state_json = json.dumps(state, ensure_ascii=False)
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT revision FROM answers WHERE lesson_id = ? AND activity_id = ?",
                (lesson_id, activity_id),
            ).fetchone()
            base_revision = None if row is None else row[0]
            conn.execute(
                """INSERT INTO answers (lesson_id, activity_id, state, client_time, revision, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (lesson_id, activity_id) DO UPDATE SET state = excluded.state,
                     client_time = excluded.client_time, updated_at = excluded.updated_at""",
                (lesson_id, activity_id, state_json, _iso(moment), base_revision, _iso(moment)),
            )
            _enqueue(
                conn,
                op_id=op_id,
                kind="activity.save",
                lesson_id=lesson_id,
                activity_id=activity_id,
                pupil_id=None,
                payload={"state": state},
                moment=moment,
                base_revision=base_revision,
            )
        return op_id

    def queue_check(self, lesson_id: str, activity_id: str, code: str) -> uuid.UUID:
        """Ask the server, at the next sync, for the mark that counts on the saved version holding
        exactly `code` (a `code.check` operation, queued after the save that holds it)."""
        op_id = uuid.uuid4()
        with self._transaction() as conn:
            _enqueue(
                conn,
                op_id=op_id,
                kind="code.check",
                lesson_id=lesson_id,
                activity_id=activity_id,
                pupil_id=None,
                payload={"code": code},
                moment=_now(),
                base_revision=None,
            )
        return op_id

    def answer(self, lesson_id: str, activity_id: str) -> Answer | None:
        conn = self._connection()
        row = conn.execute(
            """SELECT state, client_time, revision FROM answers WHERE lesson_id = ? AND activity_id = ?""",
            (lesson_id, activity_id),
        ).fetchone()
        if row is None:
            return None
        pending = conn.execute(
            """SELECT 1 FROM outbox WHERE kind = 'activity.save' AND lesson_id = ? AND activity_id = ?
               LIMIT 1""",
            (lesson_id, activity_id),
        ).fetchone()
        return Answer(
            lesson_id=lesson_id,
            activity_id=activity_id,
            state=json.loads(row[0]),
            client_time=datetime.fromisoformat(row[1]),
            revision=row[2],
            pending=pending is not None,
        )

    def queue_mark(
        self,
        pupil_id: int,
        lesson_id: str,
        activity_id: str,
        *,
        score: float,
        max_score: float,
        feedback: str,
        marker: str | None = None,
        now: datetime | None = None,
    ) -> uuid.UUID:
        """A teacher's mark: shown locally at once, queued as a `mark.set` operation."""
        moment = now or _now()
        op_id = uuid.uuid4()
        mark = Mark(
            pupil_id=pupil_id,
            lesson_id=lesson_id,
            activity_id=activity_id,
            score=score,
            max_score=max_score,
            feedback=feedback,
            source="teacher",
            marker=marker,
            marked_at=moment,
        )
        with self._transaction() as conn:
            _enqueue(
                conn,
                op_id=op_id,
                kind="mark.set",
                lesson_id=lesson_id,
                activity_id=activity_id,
                pupil_id=pupil_id,
                payload={"score": score, "max_score": max_score, "feedback": feedback},
                moment=moment,
                base_revision=None,
            )
            _put_mark(conn, mark, seen=True)
        return op_id

    def pending_count(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def next_batch(self, limit: int) -> list[Operation]:
        """The oldest `limit` queued operations, as the wire type."""
        rows = (
            self._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, payload, client_time, base_revision, pupil_id
                   FROM outbox ORDER BY seq LIMIT ?""",
                (limit,),
            )
            .fetchall()
        )
        return [
            Operation(
                op_id=uuid.UUID(row[0]),
                kind=row[1],
                lesson_id=row[2],
                activity_id=row[3],
                payload=json.loads(row[4]),
                client_time=datetime.fromisoformat(row[5]),
                base_revision=row[6],
                pupil_id=row[7],
            )
            for row in rows
        ]

    def pending_operations(self, limit: int = 1000) -> list[PendingOperation]:
        rows = (
            self._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, client_time, attempts, last_error
                   FROM outbox ORDER BY seq LIMIT ?""",
                (limit,),
            )
            .fetchall()
        )
        return [
            PendingOperation(
                op_id=uuid.UUID(row[0]),
                kind=row[1],
                lesson_id=row[2],
                activity_id=row[3],
                pupil_id=row[4],
                client_time=datetime.fromisoformat(row[5]),
                attempts=row[6],
                last_error=row[7],
            )
            for row in rows
        ]

    def note_attempt(self, op_ids: Sequence[uuid.UUID], error: str | None) -> None:
        """Count a failed push attempt (shown in the queue view); the operations stay queued."""
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE op_id = ?",
                [(error, str(op_id)) for op_id in op_ids],
            )

    def acknowledge(self, results: Sequence[OperationResult], *, now: datetime | None = None) -> AckSummary:
        """Apply the server's answers: an acknowledged operation becomes a receipt, a refused one moves
        to `rejected`, one the server left for later (`rate_limited`) stays queued where it is. Answers
        about operations no longer queued change nothing (late, replayed)."""
        moment = _iso(now or _now())
        summary = AckSummary()
        with self._transaction() as conn:
            for result in results:
                if result.outcome == "rate_limited":
                    summary.deferred += 1
                    summary.retry_after = max(summary.retry_after, float(result.retry_after or 0))
                    continue
                row = conn.execute(
                    """SELECT kind, lesson_id, activity_id, pupil_id, payload, client_time FROM outbox
                       WHERE op_id = ?""",
                    (str(result.op_id),),
                ).fetchone()
                if row is None:
                    summary.unknown += 1
                    continue
                kind, lesson_id, activity_id, pupil_id, payload, client_time = row
                if result.outcome == "rejected":
                    reason = result.reason or "The server refused this change."
                    conn.execute(
                        """INSERT OR REPLACE INTO rejected (op_id, kind, lesson_id, activity_id, pupil_id,
                             payload, client_time, reason, code, rejected_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (
                            str(result.op_id),
                            kind,
                            lesson_id,
                            activity_id,
                            pupil_id,
                            payload,
                            client_time,
                            reason,
                            result.code,
                            moment,
                        ),
                    )
                    summary.rejected += 1
                    summary.rejections.append(
                        RejectedOperation(
                            op_id=result.op_id,
                            kind=kind,
                            lesson_id=lesson_id,
                            activity_id=activity_id,
                            pupil_id=pupil_id,
                            payload=json.loads(payload),
                            client_time=datetime.fromisoformat(client_time),
                            reason=reason,
                            code=result.code,
                            rejected_at=datetime.fromisoformat(moment),
                        )
                    )
                else:
                    conn.execute(
                        """INSERT OR IGNORE INTO receipts (op_id, kind, lesson_id, activity_id, pupil_id,
                             client_time, received_at, revision, outcome, acknowledged_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (
                            str(result.op_id),
                            kind,
                            lesson_id,
                            activity_id,
                            pupil_id,
                            client_time,
                            _iso(result.received_at) if result.received_at else None,
                            result.revision,
                            result.outcome,
                            moment,
                        ),
                    )
                    if kind == "activity.save" and result.revision is not None:
                        conn.execute(
                            """UPDATE answers SET revision = ? WHERE lesson_id = ? AND activity_id = ?
                               AND client_time = ?""",
                            (result.revision, lesson_id, activity_id, client_time),
                        )
                    summary.acknowledged += 1
                conn.execute("DELETE FROM outbox WHERE op_id = ?", (str(result.op_id),))
        return summary

    def reject_locally(self, op_id: uuid.UUID, reason: str, code: str | None) -> AckSummary:
        """The server refused a push holding only this operation for good: keep it as rejected."""
        return self.acknowledge([OperationResult(op_id=op_id, outcome="rejected", reason=reason, code=code)])

    def rejected_operations(self) -> list[RejectedOperation]:
        rows = (
            self._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time, reason, code,
                     rejected_at FROM rejected ORDER BY rejected_at DESC"""
            )
            .fetchall()
        )
        return [
            RejectedOperation(
                op_id=uuid.UUID(row[0]),
                kind=row[1],
                lesson_id=row[2],
                activity_id=row[3],
                pupil_id=row[4],
                payload=json.loads(row[5]),
                client_time=datetime.fromisoformat(row[6]),
                reason=row[7],
                code=row[8],
                rejected_at=datetime.fromisoformat(row[9]),
            )
            for row in rows
        ]

    def receipts(self, limit: int = 500) -> list[Receipt]:
        rows = (
            self._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, client_time, received_at, revision,
                     outcome FROM receipts ORDER BY acknowledged_at DESC, client_time DESC LIMIT ?""",
                (limit,),
            )
            .fetchall()
        )
        return [
            Receipt(
                op_id=uuid.UUID(row[0]),
                kind=row[1],
                lesson_id=row[2],
                activity_id=row[3],
                pupil_id=row[4],
                client_time=datetime.fromisoformat(row[5]),
                received_at=_parse(row[6]),
                revision=row[7],
                outcome=row[8],
            )
            for row in rows
        ]

    # -- pull -----------------------------------------------------------------------------------

    def apply_pull(self, items: Sequence[PullItem], next_cursor: str) -> PullApplied:
        """Apply one page of server changes and move the cursor, in one transaction (crash-safe)."""
        applied = PullApplied()
        own_id = self.user_id
        with self._transaction() as conn:
            for item in items:
                if isinstance(item, RevisionEvent):
                    applied.revisions += 1
                    if _apply_revision(conn, item, own_id):
                        applied.answers_replaced.append((item.lesson_id, item.activity_id))
                elif isinstance(item, MarkEvent):
                    if _apply_mark(conn, item.mark, own_id):
                        applied.new_marks.append(item.mark)
                elif isinstance(item, LessonEvent):
                    if item.removed:  # kept (content and answers), shown as archived
                        conn.execute(
                            "UPDATE lessons SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                            (_iso(_now()), item.lesson_id),
                        )
                    else:
                        conn.execute(
                            "UPDATE lessons SET stale = 1 WHERE id = ? AND content_version IS NOT ?",
                            (item.lesson_id, item.version),
                        )
                    applied.lessons_changed.append(item.lesson_id)
            _set_meta(conn, "pull_cursor", next_cursor)
        return applied

    def revisions(self, pupil_id: int, lesson_id: str, activity_id: str) -> list[StoredRevision]:
        rows = (
            self._connection()
            .execute(
                """SELECT revision, state, client_time, received_at, op_id, device_id, current
                   FROM revisions WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?
                   ORDER BY revision DESC""",
                (pupil_id, lesson_id, activity_id),
            )
            .fetchall()
        )
        return [
            StoredRevision(
                revision=row[0],
                state=json.loads(row[1]),
                client_time=datetime.fromisoformat(row[2]),
                received_at=datetime.fromisoformat(row[3]),
                op_id=row[4],
                device_id=row[5],
                current=bool(row[6]),
            )
            for row in rows
        ]

    def current_revision(self, pupil_id: int, lesson_id: str, activity_id: str) -> StoredRevision | None:
        for revision in self.revisions(pupil_id, lesson_id, activity_id):
            if revision.current:
                return revision
        return None

    # -- marks ----------------------------------------------------------------------------------

    def mark(self, pupil_id: int, lesson_id: str, activity_id: str) -> Mark | None:
        row = (
            self._connection()
            .execute(
                "SELECT mark FROM marks WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?",
                (pupil_id, lesson_id, activity_id),
            )
            .fetchone()
        )
        return None if row is None else msgspec.json.decode(row[0], type=Mark)

    def marks(self, pupil_id: int | None = None) -> list[Mark]:
        query = "SELECT mark FROM marks"
        params: tuple[Any, ...] = ()
        if pupil_id is not None:
            query += " WHERE pupil_id = ?"
            params = (pupil_id,)
        rows = self._connection().execute(query, params).fetchall()
        return [msgspec.json.decode(row[0], type=Mark) for row in rows]

    def replace_marks(self, marks: Sequence[Mark]) -> None:
        """Marks fetched in full (`GET /api/marks`), e.g. after a resync."""
        own_id = self.user_id
        with self._transaction() as conn:
            for mark in marks:
                _apply_mark(conn, mark, own_id)

    def mark_pending(self, pupil_id: int, lesson_id: str, activity_id: str) -> bool:
        row = (
            self._connection()
            .execute(
                """SELECT 1 FROM outbox WHERE kind = 'mark.set' AND pupil_id = ? AND lesson_id = ?
                   AND activity_id = ? LIMIT 1""",
                (pupil_id, lesson_id, activity_id),
            )
            .fetchone()
        )
        return row is not None

    # -- bulk reads for the teacher's grid ---------------------------------------------------------

    def class_work(self, pupil_ids: Sequence[int]) -> ClassWork:
        """Marks (with whether each waits to sync) and answered activities of these pupils, in two
        queries: the grid reads this once per refresh instead of querying per cell as it paints."""
        conn = self._connection()
        ids = json.dumps(list(pupil_ids))
        marks = {
            (row[0], row[1], row[2]): LocalMark(mark=_mark_decoder.decode(row[3]), pending=bool(row[4]))
            for row in conn.execute(
                """SELECT m.pupil_id, m.lesson_id, m.activity_id, m.mark,
                     EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'mark.set' AND o.pupil_id = m.pupil_id
                             AND o.lesson_id = m.lesson_id AND o.activity_id = m.activity_id)
                   FROM marks m WHERE m.pupil_id IN (SELECT value FROM json_each(?))""",
                (ids,),
            )
        }
        answered = {
            (row[0], row[1], row[2]): int(row[3])
            for row in conn.execute(
                """SELECT pupil_id, lesson_id, activity_id, MAX(revision) FROM revisions
                   WHERE pupil_id IN (SELECT value FROM json_each(?))
                   GROUP BY pupil_id, lesson_id, activity_id""",
                (ids,),
            )
        }
        return ClassWork(marks=marks, answered=answered)

    def retired_activities(self) -> dict[tuple[str, str], tuple[str, Activity]]:
        """Activities lesson updates dropped, as last served: (lesson, activity) -> (lesson title,
        definition)."""
        rows = (
            self._connection()
            .execute("SELECT lesson_id, activity_id, lesson_title, activity FROM retired_activities")
            .fetchall()
        )
        return {(row[0], row[1]): (row[2], _activity_decoder.decode(row[3])) for row in rows}

    def pupil_revisions(self, pupil_id: int) -> list[TeacherRevision]:
        """Every answer version of one pupil pulled to this computer, newest first per activity."""
        rows = (
            self._connection()
            .execute(
                """SELECT lesson_id, activity_id, revision, state, client_time, current FROM revisions
                   WHERE pupil_id = ? ORDER BY lesson_id, activity_id, revision DESC""",
                (pupil_id,),
            )
            .fetchall()
        )
        return [
            TeacherRevision(
                pupil_id=pupil_id,
                lesson_id=row[0],
                activity_id=row[1],
                revision=row[2],
                state=json.loads(row[3]),
                client_time=datetime.fromisoformat(row[4]),
                current=bool(row[5]),
            )
            for row in rows
        ]

    def trace_queries(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every SQL statement any of this store's connections runs (None stops):
        the benchmark and tests count queries with it."""
        self._trace = callback
        with self._lock:
            for conn in self._connections:
                conn.set_trace_callback(callback)

    # -- cached server views (teacher classes, progress) -----------------------------------------

    def cache_put(self, key: str, value: Any) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO cache (key, value, stored_at) VALUES (?, ?, ?)",
                (key, _encoder.encode(value).decode(), _iso(_now())),
            )

    def cache_get(self, key: str) -> tuple[bytes, datetime] | None:
        conn = self._connection()
        row = conn.execute("SELECT value, stored_at FROM cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0].encode(), datetime.fromisoformat(row[1]))


def _set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _enqueue(
    conn: sqlite3.Connection,
    *,
    op_id: uuid.UUID,
    kind: str,
    lesson_id: str,
    activity_id: str,
    pupil_id: int | None,
    payload: dict[str, Any],
    moment: datetime,
    base_revision: int | None,
) -> None:
    conn.execute(
        """INSERT INTO outbox (op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time,
             base_revision, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            str(op_id),
            kind,
            lesson_id,
            activity_id,
            pupil_id,
            json.dumps(payload, ensure_ascii=False),
            _iso(moment),
            base_revision,
            _iso(_now()),
        ),
    )


def _put_mark(conn: sqlite3.Connection, mark: Mark, *, seen: bool) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO marks (pupil_id, lesson_id, activity_id, mark, seen) VALUES (?, ?, ?, ?, ?)",
        (mark.pupil_id, mark.lesson_id, mark.activity_id, _encoder.encode(mark).decode(), int(seen)),
    )


def _apply_mark(conn: sqlite3.Connection, mark: Mark, own_id: int | None) -> bool:
    """Store a mark from the server unless a newer local one still waits to be sent. True if it is news."""
    pending = conn.execute(
        """SELECT 1 FROM outbox WHERE kind = 'mark.set' AND pupil_id = ? AND lesson_id = ?
           AND activity_id = ? LIMIT 1""",
        (mark.pupil_id, mark.lesson_id, mark.activity_id),
    ).fetchone()
    if pending is not None:
        return False
    row = conn.execute(
        "SELECT mark FROM marks WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?",
        (mark.pupil_id, mark.lesson_id, mark.activity_id),
    ).fetchone()
    if row is not None and msgspec.json.decode(row[0], type=Mark) == mark:
        return False
    _put_mark(conn, mark, seen=False)
    return own_id is None or mark.pupil_id == own_id


def _apply_revision(conn: sqlite3.Connection, event: RevisionEvent, own_id: int | None) -> bool:
    """Cache the revision; then, if it is the pupil's own activity and nothing is queued for it here,
    show the revision the server last called current (the conflict rule decides). True when the local
    answer was replaced.

    Any own revision event triggers this, not only a current one: a laptop whose change was queued
    when the winning revision arrived (so it kept its own) and whose change then lost the conflict only
    hears about its own, non-current revision afterwards; it must still end up showing the winner."""
    key = (event.pupil_id, event.lesson_id, event.activity_id)
    if event.current:
        conn.execute(
            "UPDATE revisions SET current = 0 WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?", key
        )
    conn.execute(
        """INSERT OR REPLACE INTO revisions (pupil_id, lesson_id, activity_id, revision, state, client_time,
             received_at, op_id, device_id, current) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            *key,
            event.revision,
            json.dumps(event.state, ensure_ascii=False),
            _iso(event.client_time),
            _iso(event.received_at),
            str(event.op_id),
            event.device_id,
            int(event.current),
        ),
    )
    if own_id is None or event.pupil_id != own_id:
        return False
    pending = conn.execute(
        "SELECT 1 FROM outbox WHERE kind = 'activity.save' AND lesson_id = ? AND activity_id = ? LIMIT 1",
        (event.lesson_id, event.activity_id),
    ).fetchone()
    if pending is not None:
        return False
    current = conn.execute(
        """SELECT state, client_time, revision FROM revisions WHERE pupil_id = ? AND lesson_id = ?
           AND activity_id = ? AND current = 1 ORDER BY revision DESC LIMIT 1""",
        key,
    ).fetchone()
    if current is None:
        return False
    state_json, client_time, revision = current
    row = conn.execute(
        "SELECT state, revision FROM answers WHERE lesson_id = ? AND activity_id = ?",
        (event.lesson_id, event.activity_id),
    ).fetchone()
    if row is not None and row[1] == revision and json.loads(row[0]) == json.loads(state_json):
        return False
    conn.execute(
        """INSERT INTO answers (lesson_id, activity_id, state, client_time, revision, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (lesson_id, activity_id) DO UPDATE SET state = excluded.state,
             client_time = excluded.client_time, revision = excluded.revision,
             updated_at = excluded.updated_at""",
        (event.lesson_id, event.activity_id, state_json, client_time, revision, _iso(_now())),
    )
    return row is None or json.loads(row[0]) != json.loads(state_json)


def _salvage_outbox(path: Path) -> list[tuple[Any, ...]]:
    """Best effort: read queued operations out of a damaged file before it is moved aside."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time, base_revision,
                     created_at FROM outbox ORDER BY seq"""
            ).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


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


def _move_aside(path: Path) -> Path:
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


def _restore_salvaged_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    conn.executemany(
        """INSERT OR IGNORE INTO outbox (op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time,
             base_revision, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows,
    )
