"""`store.lessons`: the server's lesson list, each lesson's cached content, and what lesson updates left
behind (retired activities, removed lessons) so answers to them are shown archived, never lost."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from desktop.core.store._common import (
    activity_decoder,
    encode,
    iso,
    lesson_decoder,
    now,
    summaries_decoder,
    summary_decoder,
)
from desktop.core.store._records import ArchivedAnswer
from shared.lessons.model import Activity, Lesson, LessonSummary

if TYPE_CHECKING:
    from desktop.core.store._collection import Store

__all__ = ["LessonManager"]

#: Where archived answers of lessons no longer listed sort: after every listed lesson.
_UNLISTED_POSITION = 1_000_000


class LessonManager:
    def __init__(self, store: Store) -> None:
        self._store = store

    def save_index(self, summaries: Sequence[LessonSummary]) -> list[str]:
        """Store the server's lesson list; returns ids whose cached content is missing or out of date.

        A lesson no longer listed is marked removed, not deleted: its answers stay, shown as archived."""
        wanted = {summary.id for summary in summaries}
        moment = iso(now())
        with self._store._transaction() as conn:
            for position, summary in enumerate(summaries):
                conn.execute(
                    """INSERT INTO lessons (id, position, version, summary, stale) VALUES (?, ?, ?, ?, 0)
                       ON CONFLICT (id) DO UPDATE SET position = excluded.position,
                         version = excluded.version, summary = excluded.summary, removed_at = NULL""",
                    (summary.id, position, summary.version, encode(summary)),
                )
            for row in conn.execute("SELECT id FROM lessons WHERE removed_at IS NULL").fetchall():
                if row["id"] not in wanted:
                    conn.execute("UPDATE lessons SET removed_at = ? WHERE id = ?", (moment, row["id"]))
            self._store.set_meta_in(conn, "lesson_index_at", moment)
            rows = conn.execute(
                """SELECT id FROM lessons WHERE removed_at IS NULL AND (content IS NULL
                   OR content_version IS NOT version OR stale = 1) ORDER BY position"""
            ).fetchall()
        return [row["id"] for row in rows]

    def summaries(self) -> list[LessonSummary]:
        """The lessons the server serves now, in its order (removed ones are left out)."""
        rows = (
            self._store._connection()
            .execute("SELECT summary FROM lessons WHERE removed_at IS NULL ORDER BY position")
            .fetchall()
        )
        return summaries_decoder.decode("[" + ",".join(row["summary"] for row in rows) + "]")

    def removed(self, lesson_id: str) -> bool:
        row = (
            self._store._connection()
            .execute("SELECT removed_at FROM lessons WHERE id = ?", (lesson_id,))
            .fetchone()
        )
        return row is not None and row["removed_at"] is not None

    def save(self, lesson: Lesson) -> None:
        """Cache a lesson's content. Activities the previous cached version had and this one lacks keep
        their definition in `retired_activities`, so answers to them can still be shown (archived)."""
        content = encode(lesson)
        moment = iso(now())
        current_ids = {activity.id for activity in lesson.activities}
        with self._store._transaction() as conn:
            row = conn.execute("SELECT content FROM lessons WHERE id = ?", (lesson.id,)).fetchone()
            if row is not None and row["content"] is not None:
                previous = lesson_decoder.decode(row["content"])
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
                                encode(activity),
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
                position = conn.execute("SELECT COUNT(*) AS lessons FROM lessons").fetchone()["lessons"]
                conn.execute(
                    """INSERT INTO lessons (id, position, version, summary, content, content_version, stale)
                       VALUES (?, ?, ?, ?, ?, ?, 0)""",
                    (
                        lesson.id,
                        position,
                        lesson.version,
                        encode(lesson.to_summary()),
                        content,
                        lesson.version,
                    ),
                )

    def get(self, lesson_id: str) -> Lesson | None:
        row = (
            self._store._connection()
            .execute("SELECT content FROM lessons WHERE id = ? AND content IS NOT NULL", (lesson_id,))
            .fetchone()
        )
        return None if row is None else lesson_decoder.decode(row["content"])

    def stale(self) -> list[str]:
        rows = (
            self._store._connection()
            .execute("SELECT id FROM lessons WHERE stale = 1 AND removed_at IS NULL")
            .fetchall()
        )
        return [row["id"] for row in rows]

    def mark_stale_in(
        self, conn: sqlite3.Connection, lesson_id: str, version: str | None, *, removed: bool
    ) -> None:
        """A `lesson` pull event, inside the caller's transaction: a removed lesson is kept (content and
        answers, shown as archived); a changed one is fetched again at the next lesson refresh."""
        if removed:
            conn.execute(
                "UPDATE lessons SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (iso(now()), lesson_id),
            )
        else:
            conn.execute(
                "UPDATE lessons SET stale = 1 WHERE id = ? AND content_version IS NOT ?", (lesson_id, version)
            )

    def retired_activities(self) -> dict[tuple[str, str], tuple[str, Activity]]:
        """Activities lesson updates dropped, as last served: (lesson, activity) -> (lesson title,
        definition)."""
        rows = (
            self._store._connection()
            .execute("SELECT lesson_id, activity_id, lesson_title, activity FROM retired_activities")
            .fetchall()
        )
        return {
            (row["lesson_id"], row["activity_id"]): (
                row["lesson_title"],
                activity_decoder.decode(row["activity"]),
            )
            for row in rows
        }

    def archived_answers(self, lesson_id: str | None = None) -> list[ArchivedAnswer]:
        """Answers to activities the current lessons no longer have (dropped by a lesson update, or in a
        lesson removed from the manifest), newest first within each lesson. Nothing here is ever deleted:
        an activity or lesson that comes back takes its answers back."""
        conn = self._store._connection()
        index_known = self._store.get_meta("lesson_index_at") is not None
        query = "SELECT lesson_id, activity_id, state, client_time, revision FROM answers"
        params: tuple[Any, ...] = ()
        if lesson_id is not None:
            query += " WHERE lesson_id = ?"
            params = (lesson_id,)
        answers = conn.execute(query + " ORDER BY lesson_id, client_time DESC", params).fetchall()
        if not answers:
            return []
        lessons = {
            row["id"]: row
            for row in conn.execute("SELECT id, position, summary, content, removed_at FROM lessons")
        }
        retired = {
            (row["lesson_id"], row["activity_id"]): row
            for row in conn.execute(
                "SELECT lesson_id, activity_id, lesson_title, activity FROM retired_activities"
            )
        }
        pending = {
            (row["lesson_id"], row["activity_id"])
            for row in conn.execute("SELECT lesson_id, activity_id FROM outbox WHERE kind = 'activity.save'")
        }
        rejected: dict[tuple[str, str], str] = {}
        for row in conn.execute(
            """SELECT lesson_id, activity_id, reason FROM rejected WHERE kind = 'activity.save'
               ORDER BY rejected_at"""
        ):
            rejected[(row["lesson_id"], row["activity_id"])] = row["reason"]
        decoded: dict[str, tuple[str, Lesson | None, set[str]]] = {}
        found: list[tuple[int, ArchivedAnswer]] = []
        for answer in answers:
            answer_lesson, activity_id = answer["lesson_id"], answer["activity_id"]
            key = (answer_lesson, activity_id)
            lesson_row = lessons.get(answer_lesson)
            retired_row = retired.get(key)
            activity: Activity | None = None
            if retired_row is not None:
                activity = activity_decoder.decode(retired_row["activity"])
            if lesson_row is None:
                if not index_known:
                    continue  # the lesson list has not arrived yet: nothing to judge by
                position = _UNLISTED_POSITION
                lesson_title = retired_row["lesson_title"] if retired_row is not None else answer_lesson
                removed = True
            else:
                position = lesson_row["position"]
                if answer_lesson not in decoded:
                    summary = summary_decoder.decode(lesson_row["summary"])
                    content_json = lesson_row["content"]
                    content = lesson_decoder.decode(content_json) if content_json else None
                    # Current: in the cached content (what the lesson view shows) or in the server's
                    # list (content not downloaded yet); a lesson mid-update never archives an answer.
                    current = {a.id for a in summary.activities}
                    if content is not None:
                        current |= {a.id for a in content.activities}
                    decoded[answer_lesson] = (summary.title, content, current)
                lesson_title, content, current = decoded[answer_lesson]
                removed = lesson_row["removed_at"] is not None
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
                        state=json.loads(answer["state"]),
                        client_time=datetime.fromisoformat(answer["client_time"]),
                        revision=answer["revision"],
                        pending=key in pending,
                        rejected_reason=None if key in pending else rejected.get(key),
                        lesson_removed=removed,
                    ),
                )
            )
        found.sort(key=lambda item: (item[0], item[1].lesson_id, -item[1].client_time.timestamp()))
        return [answer for _, answer in found]
