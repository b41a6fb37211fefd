"""Writing a mark, and the marks the server gives by itself.

Kept apart from server.domain.marks.services (a teacher's mark: access, audit, replays) so that the
answer path (server.domain.sync.answers) can mark a multiple-choice answer the moment it is stored
without importing the teacher's side.

Automatic marks come from the server's own copy of the lesson — the answer key never leaves the server
for a pupil's laptop — and belong to the revision they marked. A teacher's mark is never overwritten by
an automatic one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import upsert_for
from server.db.models import Mark, SyncEvent
from server.domain.lessons.services import LessonLibrary
from server.lib.metrics import MARKS_SET
from shared.lessons import ChoiceActivity, mark_choice


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


async def mark_choice_answers(
    db: AsyncSession,
    library: LessonLibrary,
    pupil_id: int,
    answers: Mapping[tuple[str, str], StoredAnswer],
) -> int:
    """Mark the multiple-choice answers among `answers` (each activity's current answer, just stored)
    and return how many marks were written. The caller commits."""
    written = 0
    for (lesson_id, activity_id), answer in answers.items():
        activity = library.activity(lesson_id, activity_id)
        if not isinstance(activity, ChoiceActivity) or activity.correct is None:
            continue
        selected = answer.state.get("selected")
        if not isinstance(selected, list):
            continue
        try:
            score = mark_choice(activity, [int(index) for index in selected])
        except (ValueError, TypeError):
            continue  # the answer path checked the options already; a lesson update may have changed them
        await write_mark(
            db,
            pupil_id=pupil_id,
            lesson_id=lesson_id,
            activity_id=activity_id,
            score=score,
            max_score=activity.max_score,
            feedback=choice_feedback(activity, score),
            source="auto",
            marker_id=None,
            client_time=answer.client_time,
            op_id=None,
            revision=answer.revision,
        )
        written += 1
    return written


__all__ = ["StoredAnswer", "choice_feedback", "mark_choice_answers", "write_mark"]
