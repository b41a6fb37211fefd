"""Writing a mark, and the marks the server gives by itself.

Kept apart from server.domain.marks.services (a teacher's mark: access, audit, replays) so that the
answer path (server.domain.sync.answers) can mark an answer from an answer key (multiple choice, Parsons
problems, fill-the-gaps code, predict-the-output and trace tables against a recorded real run) the
moment it is stored without importing the teacher's side.

Automatic marks come from the server's own copy of the lesson — the answer key never leaves the server
for a pupil's laptop — and belong to the revision they marked. A teacher's mark is never overwritten by
an automatic one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.direct import DirectDatabase
from server.db.engine import upsert_for
from server.db.models import Mark, SyncEvent
from server.domain.lessons.services import LessonLibrary
from server.lib.metrics import MARKS_SET
from shared.lessons import (
    Activity,
    ChoiceActivity,
    GapsActivity,
    ParsonsActivity,
    PredictActivity,
    TraceActivity,
    mark_choice,
    mark_gaps,
    mark_parsons,
    mark_predict,
    mark_trace,
    puzzle_feedback,
)


async def write_mark(
    db: AsyncSession,
    *,
    pupil_id: int,
    lesson_id: str,
    activity_id: str,
    score: float,
    max_score: float,
    feedback: str,
    source: Literal["teacher", "auto"],
    marker_id: int | None,
    client_time: datetime,
    op_id: uuid.UUID | None,
    revision: int | None = None,
) -> Mark:
    """Upsert the mark if it is newer than the stored one; returns the mark now current."""
    now = utcnow()
    existing = (
        await db.execute(
            select(Mark)
            .where(Mark.pupil_id == pupil_id, Mark.lesson_id == lesson_id, Mark.activity_id == activity_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if existing is not None and existing.client_time > client_time:
        return existing
    if source == "auto" and existing is not None and existing.source == "teacher":
        return existing  # a teacher's mark is never overwritten by the auto-marker
    values = {
        "score": score,
        "max_score": max_score,
        "feedback": feedback,
        "source": source,
        "marker_id": marker_id,
        "marked_at": now,
        "client_time": client_time,
        "op_id": op_id,
        "revision": revision,
    }
    insert = upsert_for(db)
    statement = insert(Mark).values(pupil_id=pupil_id, lesson_id=lesson_id, activity_id=activity_id, **values)
    await db.execute(
        statement.on_conflict_do_update(index_elements=["pupil_id", "lesson_id", "activity_id"], set_=values)
    )
    db.add(
        SyncEvent(
            audience_id=pupil_id,
            kind="mark",
            lesson_id=lesson_id,
            activity_id=activity_id,
            ref_id=None,
            created_at=now,
        )
    )
    MARKS_SET.labels(source=source).inc()
    return (
        await db.execute(
            select(Mark)
            .where(Mark.pupil_id == pupil_id, Mark.lesson_id == lesson_id, Mark.activity_id == activity_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


class StoredAnswer(Protocol):
    """What the answer path knows of an activity's current answer after a save."""

    @property
    def state(self) -> dict[str, object]: ...

    @property
    def revision(self) -> int: ...

    @property
    def client_time(self) -> datetime: ...


def choice_feedback(activity: ChoiceActivity, score: float) -> str:
    """Plain words that say how the answer did, never which options are right."""
    if score >= activity.max_score:
        return "Right. Marked automatically from the answer key."
    if score > 0:
        return "Partly right. Marked automatically from the answer key."
    return "Not right this time. Marked automatically from the answer key."


class AutoMark(msgspec.Struct):
    """One automatic mark as the PostgreSQL statement reads it (encoded to JSON with msgspec)."""

    pupil_id: int
    marked_at: datetime
    lesson_id: str
    activity_id: str
    score: float
    max_score: float
    feedback: str
    client_time: datetime
    revision: int


# The hot path's version of `write_mark` for automatic marks: one statement, on the direct connections
# (autocommit), whatever the number of marks. Same rule: the latest client time wins, and an automatic
# mark never replaces a teacher's. A mark written is announced to the pupil's laptops (sync_events).
AUTO_MARKS = """
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb))
        AS (pupil_id bigint, marked_at timestamptz, lesson_id text, activity_id text, score float8,
            max_score float8, feedback text, client_time timestamptz, revision int)
), written AS (
    INSERT INTO marks AS m (pupil_id, lesson_id, activity_id, score, max_score, feedback, source, marker_id,
                            marked_at, client_time, op_id, revision)
    SELECT pupil_id, lesson_id, activity_id, score, max_score, feedback, 'auto', NULL, marked_at,
           client_time, NULL, revision
    FROM input
    ORDER BY pupil_id, lesson_id, activity_id
    ON CONFLICT (pupil_id, lesson_id, activity_id) DO UPDATE SET
        score = excluded.score, max_score = excluded.max_score, feedback = excluded.feedback,
        source = 'auto', marker_id = NULL, marked_at = excluded.marked_at,
        client_time = excluded.client_time, op_id = NULL, revision = excluded.revision
    WHERE m.source <> 'teacher' AND m.client_time <= excluded.client_time
    RETURNING pupil_id, lesson_id, activity_id, marked_at
), announced AS (
    INSERT INTO sync_events (audience_id, kind, lesson_id, activity_id, ref_id, created_at)
    SELECT pupil_id, 'mark', lesson_id, activity_id, NULL, marked_at FROM written
)
SELECT pupil_id, lesson_id, activity_id FROM written
"""


def _mark_key(mark: AutoMark) -> tuple[int, str, str]:
    return mark.pupil_id, mark.lesson_id, mark.activity_id


def _written_key(row: tuple[Any, ...]) -> tuple[int, str, str]:
    return row[0], row[1], row[2]


def is_marked_from_a_key(activity: Activity | None) -> bool:
    """Kinds the server marks by itself the moment an answer is stored, from its own answer key."""
    return isinstance(
        activity, ChoiceActivity | ParsonsActivity | GapsActivity | PredictActivity | TraceActivity
    )


async def mark_answers_from_keys(
    db: AsyncSession,
    library: LessonLibrary,
    pupil_id: int,
    answers: Mapping[tuple[str, str], StoredAnswer],
    direct: DirectDatabase | None = None,
) -> int:
    """Mark the answers among `answers` (each activity's current answer, just stored) whose activity has
    an answer key (see `is_marked_from_a_key`) and return how many marks were written through `db` (the
    caller commits). With `direct` (PostgreSQL) they are written at once, in one autocommit statement,
    and 0 is returned."""
    marks = _key_marks(library, pupil_id, utcnow(), answers)
    if not marks:
        return 0
    if direct is not None:  # with other requests' marks in flight (server.db.direct.GroupCommit)
        group = direct.group_commit(AUTO_MARKS, row_key=_mark_key, result_key=_written_key)
        MARKS_SET.labels(source="auto").inc(len(await group.send(marks)))
        return 0
    for mark in marks:
        await write_mark(
            db,
            pupil_id=pupil_id,
            lesson_id=mark.lesson_id,
            activity_id=mark.activity_id,
            score=mark.score,
            max_score=mark.max_score,
            feedback=mark.feedback,
            source="auto",
            marker_id=None,
            client_time=mark.client_time,
            op_id=None,
            revision=mark.revision,
        )
    return len(marks)


def _key_marks(
    library: LessonLibrary, pupil_id: int, now: datetime, answers: Mapping[tuple[str, str], StoredAnswer]
) -> list[AutoMark]:
    marks: list[AutoMark] = []
    for (lesson_id, activity_id), answer in answers.items():
        activity = library.activity(lesson_id, activity_id)
        try:
            marked = _score_from_key(activity, answer.state)
        except (ValueError, TypeError):
            continue  # the answer path checked the answer already; a lesson update may have changed it
        if marked is None or activity is None:
            continue
        score, feedback = marked
        marks.append(
            AutoMark(
                pupil_id=pupil_id,
                marked_at=now,
                lesson_id=lesson_id,
                activity_id=activity_id,
                score=score,
                max_score=activity.max_score,
                feedback=feedback,
                client_time=answer.client_time,
                revision=answer.revision,
            )
        )
    return marks


def _score_from_key(activity: Activity | None, state: dict[str, object]) -> tuple[float, str] | None:
    """(score, feedback) for an answer to an activity with an answer key; None for other kinds."""
    if isinstance(activity, ChoiceActivity) and activity.correct is not None:
        selected = state.get("selected")
        if not isinstance(selected, list):
            return None
        score = mark_choice(activity, [int(index) for index in selected])
        return score, choice_feedback(activity, score)
    if isinstance(activity, ParsonsActivity) and activity.solution is not None:
        order, indents = state.get("order"), state.get("indents")
        if not isinstance(order, list) or not isinstance(indents, list):
            return None
        score = mark_parsons(activity, [int(i) for i in order], [int(level) for level in indents])
        return score, puzzle_feedback(activity, score)
    if isinstance(activity, GapsActivity) and activity.answers is not None:
        filled = state.get("gaps")
        if not isinstance(filled, list):
            return None
        score = mark_gaps(activity, [str(text) for text in filled])
        return score, puzzle_feedback(activity, score)
    if isinstance(activity, PredictActivity) and activity.expected_output is not None:
        prediction = state.get("output")
        if not isinstance(prediction, str):
            return None
        score = mark_predict(activity, prediction)
        return score, puzzle_feedback(activity, score)
    if isinstance(activity, TraceActivity) and activity.rows is not None:
        cells = state.get("cells")
        if not isinstance(cells, list) or not all(isinstance(row, list) for row in cells):
            return None
        score = mark_trace(activity, [[str(cell) for cell in row] for row in cells])
        return score, puzzle_feedback(activity, score)
    return None


__all__ = [
    "AutoMark",
    "StoredAnswer",
    "choice_feedback",
    "is_marked_from_a_key",
    "mark_answers_from_keys",
    "write_mark",
]
