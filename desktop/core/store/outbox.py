"""`store.outbox`: every change the user makes here becomes an operation queued for the server
(docs/architecture.md, invariant 2), written with the change in one durable transaction; the server's
answers turn operations into receipts or keep them as rejected (invariant 8), never silently dropped."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from desktop.core.store._common import iso, now
from desktop.core.store._records import (
    AckSummary,
    Answer,
    PendingOperation,
    QueuedAssignment,
    Receipt,
    RejectedOperation,
)
from shared.wire.marks import Mark
from shared.wire.sync import Operation, OperationResult

if TYPE_CHECKING:
    from desktop.core.store._collection import Store

__all__ = ["NO_ACTIVITY", "OutboxManager"]

#: The outbox's `activity_id` for an operation about no single activity (`assignment.set`): the column
#: is NOT NULL, and the wire leaves the field out.
NO_ACTIVITY = ""


class OutboxManager:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- changes: each writes its effect and its operation in one transaction ------------------------

    def save_answer(
        self, lesson_id: str, activity_id: str, state: dict[str, Any], *, now: datetime | None = None
    ) -> uuid.UUID:
        """Write the answer and queue its `activity.save` operation in one durable transaction: when this
        returns the answer is on disk, and the UI may say "saved" (invariant 1)."""
        moment = now or _now()
        op_id = uuid.uuid4()
        state_json = json.dumps(state, ensure_ascii=False)
        with self._store._transaction() as conn:
            row = conn.execute(
                "SELECT revision FROM answers WHERE lesson_id = ? AND activity_id = ?",
                (lesson_id, activity_id),
            ).fetchone()
            base_revision = None if row is None else row["revision"]
            conn.execute(
                """INSERT INTO answers (lesson_id, activity_id, state, client_time, revision, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (lesson_id, activity_id) DO UPDATE SET state = excluded.state,
                     client_time = excluded.client_time, updated_at = excluded.updated_at""",
                (lesson_id, activity_id, state_json, iso(moment), base_revision, iso(moment)),
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
        with self._store._transaction() as conn:
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
        with self._store._transaction() as conn:
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
            self._store.marks.put_in(conn, mark, seen=True)
        return op_id

    def queue_assignment(
        self, lesson_id: str, change: dict[str, Any], *, now: datetime | None = None
    ) -> uuid.UUID:
        """A teacher setting, changing or withdrawing work for a class (`change` is an `AssignmentSet` as
        JSON builtins): queued as an `assignment.set` operation, which names no single activity. Shown
        from the queue (`queued_assignments`) until the server's list has it, so it works offline."""
        op_id = uuid.uuid4()
        with self._store._transaction() as conn:
            _enqueue(
                conn,
                op_id=op_id,
                kind="assignment.set",
                lesson_id=lesson_id,
                activity_id=NO_ACTIVITY,
                pupil_id=None,
                payload=change,
                moment=now or _now(),
                base_revision=None,
            )
        return op_id

    def queued_assignments(self) -> list[QueuedAssignment]:
        """The `assignment.set` operations still waiting to be sent, oldest first."""
        rows = (
            self._store._connection()
            .execute(
                """SELECT op_id, lesson_id, payload, client_time FROM outbox WHERE kind = 'assignment.set'
                   ORDER BY seq"""
            )
            .fetchall()
        )
        return [QueuedAssignment.from_row(row) for row in rows]

    def queued_answer_keys(self) -> set[tuple[str, str]]:
        """(lesson, activity) of every answer saved here whose latest version waits to be sent."""
        rows = (
            self._store._connection()
            .execute("SELECT DISTINCT lesson_id, activity_id FROM outbox WHERE kind = 'activity.save'")
            .fetchall()
        )
        return {(row["lesson_id"], row["activity_id"]) for row in rows}

    def answer(self, lesson_id: str, activity_id: str) -> Answer | None:
        """The answer saved here, and whether a change to it still waits to be sent."""
        row = (
            self._store._connection()
            .execute(
                """SELECT lesson_id, activity_id, state, client_time, revision,
                     EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'activity.save'
                             AND o.lesson_id = a.lesson_id AND o.activity_id = a.activity_id) AS pending
                   FROM answers a WHERE lesson_id = ? AND activity_id = ?""",
                (lesson_id, activity_id),
            )
            .fetchone()
        )
        return None if row is None else Answer.from_row(row)

    # -- the queue ---------------------------------------------------------------------------------

    def pending_count(self) -> int:
        row = self._store._connection().execute("SELECT COUNT(*) AS pending FROM outbox").fetchone()
        return int(row["pending"])

    def next_batch(self, limit: int) -> list[Operation]:
        """The oldest `limit` queued operations, as the wire type."""
        rows = (
            self._store._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, payload, client_time, base_revision, pupil_id
                   FROM outbox ORDER BY seq LIMIT ?""",
                (limit,),
            )
            .fetchall()
        )
        return [
            Operation(
                op_id=uuid.UUID(row["op_id"]),
                kind=row["kind"],
                lesson_id=row["lesson_id"],
                activity_id=row["activity_id"] or None,  # NO_ACTIVITY: the operation names none
                payload=json.loads(row["payload"]),
                client_time=datetime.fromisoformat(row["client_time"]),
                base_revision=row["base_revision"],
                pupil_id=row["pupil_id"],
            )
            for row in rows
        ]

    def pending_operations(self, limit: int = 1000) -> list[PendingOperation]:
        rows = (
            self._store._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, client_time, attempts, last_error
                   FROM outbox ORDER BY seq LIMIT ?""",
                (limit,),
            )
            .fetchall()
        )
        return [PendingOperation.from_row(row) for row in rows]

    def note_attempt(self, op_ids: Sequence[uuid.UUID], error: str | None) -> None:
        """Count a failed push attempt (shown in the queue view); the operations stay queued."""
        with self._store._transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE op_id = ?",
                [(error, str(op_id)) for op_id in op_ids],
            )

    # -- the server's answers ----------------------------------------------------------------------

    def acknowledge(self, results: Sequence[OperationResult], *, now: datetime | None = None) -> AckSummary:
        """Apply the server's answers: an acknowledged operation becomes a receipt, a refused one moves
        to `rejected`, one the server left for later (`rate_limited`) stays queued where it is. Answers
        about operations no longer queued change nothing (late, replayed)."""
        moment = iso(now or _now())
        summary = AckSummary()
        with self._store._transaction() as conn:
            for result in results:
                if result.outcome == "rate_limited":
                    summary.deferred += 1
                    summary.retry_after = max(summary.retry_after, float(result.retry_after or 0))
                    continue
                queued = conn.execute(
                    """SELECT op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time FROM outbox
                       WHERE op_id = ?""",
                    (str(result.op_id),),
                ).fetchone()
                if queued is None:
                    summary.unknown += 1
                    continue
                if result.outcome == "rejected":
                    reason = result.reason or "The server refused this change."
                    conn.execute(
                        """INSERT OR REPLACE INTO rejected (op_id, kind, lesson_id, activity_id, pupil_id,
                             payload, client_time, reason, code, rejected_at)
                           VALUES (:op_id, :kind, :lesson_id, :activity_id, :pupil_id, :payload,
                             :client_time, :reason, :code, :rejected_at)""",
                        {**dict(queued), "reason": reason, "code": result.code, "rejected_at": moment},
                    )
                    rejected = conn.execute(
                        """SELECT op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time, reason,
                             code, rejected_at FROM rejected WHERE op_id = ?""",
                        (str(result.op_id),),
                    ).fetchone()
                    summary.rejected += 1
                    summary.rejections.append(RejectedOperation.from_row(rejected))
                else:
                    conn.execute(
                        """INSERT OR IGNORE INTO receipts (op_id, kind, lesson_id, activity_id, pupil_id,
                             client_time, received_at, revision, outcome, acknowledged_at)
                           VALUES (:op_id, :kind, :lesson_id, :activity_id, :pupil_id, :client_time,
                             :received_at, :revision, :outcome, :acknowledged_at)""",
                        {
                            **dict(queued),
                            "received_at": iso(result.received_at) if result.received_at else None,
                            "revision": result.revision,
                            "outcome": result.outcome,
                            "acknowledged_at": moment,
                        },
                    )
                    if queued["kind"] == "activity.save" and result.revision is not None:
                        conn.execute(
                            """UPDATE answers SET revision = ? WHERE lesson_id = ? AND activity_id = ?
                               AND client_time = ?""",
                            (
                                result.revision,
                                queued["lesson_id"],
                                queued["activity_id"],
                                queued["client_time"],
                            ),
                        )
                    summary.acknowledged += 1
                conn.execute("DELETE FROM outbox WHERE op_id = ?", (str(result.op_id),))
        return summary

    def reject_locally(self, op_id: uuid.UUID, reason: str, code: str | None) -> AckSummary:
        """The server refused a push holding only this operation for good: keep it as rejected."""
        return self.acknowledge([OperationResult(op_id=op_id, outcome="rejected", reason=reason, code=code)])

    def rejected_operations(self) -> list[RejectedOperation]:
        rows = (
            self._store._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, payload, client_time, reason, code,
                     rejected_at FROM rejected ORDER BY rejected_at DESC"""
            )
            .fetchall()
        )
        return [RejectedOperation.from_row(row) for row in rows]

    def receipts(self, limit: int = 500) -> list[Receipt]:
        rows = (
            self._store._connection()
            .execute(
                """SELECT op_id, kind, lesson_id, activity_id, pupil_id, client_time, received_at, revision,
                     outcome FROM receipts ORDER BY acknowledged_at DESC, client_time DESC LIMIT ?""",
                (limit,),
            )
            .fetchall()
        )
        return [Receipt.from_row(row) for row in rows]


def _now() -> datetime:
    return now()


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
            iso(moment),
            base_revision,
            iso(_now()),
        ),
    )
