"""`store.pull`: applying the server's changes (docs/architecture.md, invariant 5) — answer versions,
marks and lesson updates — with the cursor moved in the same transaction, and the versions kept here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from desktop.core.store._common import iso, now
from desktop.core.store._records import PullApplied, StoredRevision, TeacherRevision
from shared.wire.sync import LessonEvent, MarkEvent, PullItem, RevisionEvent

if TYPE_CHECKING:
    from desktop.core.store._collection import Store

__all__ = ["PullManager"]


class PullManager:
    def __init__(self, store: Store) -> None:
        self._store = store

    def cursor(self) -> str | None:
        return self._store.get_meta("pull_cursor")

    def apply(self, items: Sequence[PullItem], next_cursor: str) -> PullApplied:
        """Apply one page of server changes and move the cursor, in one transaction (crash-safe)."""
        applied = PullApplied()
        own_id = self._store.user_id
        with self._store._transaction() as conn:
            for item in items:
                if isinstance(item, RevisionEvent):
                    applied.revisions += 1
                    if _apply_revision(conn, item, own_id):
                        applied.answers_replaced.append((item.lesson_id, item.activity_id))
                elif isinstance(item, MarkEvent):
                    if self._store.marks.apply_in(conn, item.mark, own_id):
                        applied.new_marks.append(item.mark)
                elif isinstance(item, LessonEvent):
                    self._store.lessons.mark_stale_in(
                        conn, item.lesson_id, item.version, removed=item.removed
                    )
                    applied.lessons_changed.append(item.lesson_id)
            self._store.set_meta_in(conn, "pull_cursor", next_cursor)
        return applied

    def revisions(self, pupil_id: int, lesson_id: str, activity_id: str) -> list[StoredRevision]:
        rows = (
            self._store._connection()
            .execute(
                """SELECT revision, state, client_time, received_at, op_id, device_id, current
                   FROM revisions WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?
                   ORDER BY revision DESC""",
                (pupil_id, lesson_id, activity_id),
            )
            .fetchall()
        )
        return [StoredRevision.from_row(row) for row in rows]

    def current_revision(self, pupil_id: int, lesson_id: str, activity_id: str) -> StoredRevision | None:
        for revision in self.revisions(pupil_id, lesson_id, activity_id):
            if revision.current:
                return revision
        return None

    def pupil_revisions(self, pupil_id: int) -> list[TeacherRevision]:
        """Every answer version of one pupil pulled to this computer, newest first per activity."""
        rows = (
            self._store._connection()
            .execute(
                """SELECT pupil_id, lesson_id, activity_id, revision, state, client_time, current
                   FROM revisions WHERE pupil_id = ? ORDER BY lesson_id, activity_id, revision DESC""",
                (pupil_id,),
            )
            .fetchall()
        )
        return [TeacherRevision.from_row(row) for row in rows]


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
            iso(event.client_time),
            iso(event.received_at),
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
    shown = conn.execute(
        "SELECT state, revision FROM answers WHERE lesson_id = ? AND activity_id = ?",
        (event.lesson_id, event.activity_id),
    ).fetchone()
    current_state = json.loads(current["state"])
    if (
        shown is not None
        and shown["revision"] == current["revision"]
        and json.loads(shown["state"]) == current_state
    ):
        return False
    conn.execute(
        """INSERT INTO answers (lesson_id, activity_id, state, client_time, revision, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (lesson_id, activity_id) DO UPDATE SET state = excluded.state,
             client_time = excluded.client_time, revision = excluded.revision,
             updated_at = excluded.updated_at""",
        (
            event.lesson_id,
            event.activity_id,
            current["state"],
            current["client_time"],
            current["revision"],
            iso(now()),
        ),
    )
    return shown is None or json.loads(shown["state"]) != current_state
