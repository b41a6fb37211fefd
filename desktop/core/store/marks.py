"""`store.marks`: marks and feedback as this computer knows them — the pupil's own, or a teacher's
classes' — with whether a teacher's mark still waits to be sent; and the bulk read behind the grid."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from desktop.core.store._common import encode, mark_decoder
from desktop.core.store._records import ClassWork, LocalMark
from shared.wire.marks import Mark

if TYPE_CHECKING:
    from desktop.core.store._collection import Store

__all__ = ["MarkManager"]

_PENDING = """SELECT 1 FROM outbox WHERE kind = 'mark.set' AND pupil_id = ? AND lesson_id = ?
              AND activity_id = ? LIMIT 1"""


class MarkManager:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, pupil_id: int, lesson_id: str, activity_id: str) -> Mark | None:
        row = (
            self._store._connection()
            .execute(
                "SELECT mark FROM marks WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?",
                (pupil_id, lesson_id, activity_id),
            )
            .fetchone()
        )
        return None if row is None else mark_decoder.decode(row["mark"])

    def all(self, pupil_id: int | None = None) -> list[Mark]:
        query = "SELECT mark FROM marks"
        params: tuple[Any, ...] = ()
        if pupil_id is not None:
            query += " WHERE pupil_id = ?"
            params = (pupil_id,)
        rows = self._store._connection().execute(query, params).fetchall()
        return [mark_decoder.decode(row["mark"]) for row in rows]

    def pending(self, pupil_id: int, lesson_id: str, activity_id: str) -> bool:
        """Whether a teacher's mark for this answer waits in the outbox."""
        row = self._store._connection().execute(_PENDING, (pupil_id, lesson_id, activity_id)).fetchone()
        return row is not None

    def replace(self, marks: Sequence[Mark]) -> None:
        """Marks fetched in full (`GET /api/marks`), e.g. after a resync."""
        own_id = self._store.user_id
        with self._store._transaction() as conn:
            for mark in marks:
                self.apply_in(conn, mark, own_id)

    def class_work(self, pupil_ids: Sequence[int]) -> ClassWork:
        """Marks (with whether each waits to sync) and answered activities of these pupils, in two
        queries: the grid reads this once per refresh instead of querying per cell as it paints."""
        conn = self._store._connection()
        ids = json.dumps(list(pupil_ids))
        marks = {
            (row["pupil_id"], row["lesson_id"], row["activity_id"]): LocalMark.from_row(row)
            for row in conn.execute(
                """SELECT m.pupil_id, m.lesson_id, m.activity_id, m.mark,
                     EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'mark.set' AND o.pupil_id = m.pupil_id
                             AND o.lesson_id = m.lesson_id AND o.activity_id = m.activity_id) AS pending
                   FROM marks m WHERE m.pupil_id IN (SELECT value FROM json_each(?))""",
                (ids,),
            )
        }
        answered = {
            (row["pupil_id"], row["lesson_id"], row["activity_id"]): int(row["newest"])
            for row in conn.execute(
                """SELECT pupil_id, lesson_id, activity_id, MAX(revision) AS newest FROM revisions
                   WHERE pupil_id IN (SELECT value FROM json_each(?))
                   GROUP BY pupil_id, lesson_id, activity_id""",
                (ids,),
            )
        }
        return ClassWork(marks=marks, answered=answered)

    # -- inside another part's transaction -----------------------------------------------------------

    def put_in(self, conn: sqlite3.Connection, mark: Mark, *, seen: bool) -> None:
        conn.execute(
            """INSERT OR REPLACE INTO marks (pupil_id, lesson_id, activity_id, mark, seen)
               VALUES (?, ?, ?, ?, ?)""",
            (mark.pupil_id, mark.lesson_id, mark.activity_id, encode(mark), int(seen)),
        )

    def apply_in(self, conn: sqlite3.Connection, mark: Mark, own_id: int | None) -> bool:
        """Store a mark from the server unless a newer local one still waits to be sent. True if it is
        news to this user (their own mark, or any mark on a computer with no user yet)."""
        if conn.execute(_PENDING, (mark.pupil_id, mark.lesson_id, mark.activity_id)).fetchone() is not None:
            return False
        row = conn.execute(
            "SELECT mark FROM marks WHERE pupil_id = ? AND lesson_id = ? AND activity_id = ?",
            (mark.pupil_id, mark.lesson_id, mark.activity_id),
        ).fetchone()
        if row is not None and mark_decoder.decode(row["mark"]) == mark:
            return False
        self.put_in(conn, mark, seen=False)
        return own_id is None or mark.pupil_id == own_id
