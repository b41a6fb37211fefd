"""Marks: a teacher's score and feedback on one pupil's activity (or the auto-marker's).

The current mark follows the same rule as answers: the latest client time wins. Every change is
audited as `mark.changed` and announced to the pupil through the pull feed.
"""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.base import utcnow
from server.db.models import Mark, User
from server.domain.auth.context import AuthContext
from server.domain.lessons.services import LessonLibrary
from server.domain.marks.writer import write_mark
from server.domain.sync.answers import Rejected, clamp_client_time
from server.domain.sync.ledger import answered_before, claim_operation, record_refusal, replay_result
from server.domain.teaching.access import can_mark_pupil
from server.lib import audit
from server.lib.metrics import SYNC_OPERATIONS
from shared.wire.marks import Mark as MarkOut
from shared.wire.marks import MarkSet
from shared.wire.sync import OperationResult


def mark_out(row: Mark, marker: str | None) -> MarkOut:
    return MarkOut(
        pupil_id=row.pupil_id,
        lesson_id=row.lesson_id,
        activity_id=row.activity_id,
        score=row.score,
        max_score=row.max_score,
        feedback=row.feedback,
        source=row.source,  # type: ignore[arg-type]
        marker=marker,
        marked_at=row.marked_at,
        revision=row.revision,
    )


async def _check(library: LessonLibrary, lesson_id: str, activity_id: str, mark: MarkSet) -> None:
    activity = library.activity(lesson_id, activity_id)
    if activity is None:
        raise Rejected("not_found", f"activity {lesson_id}/{activity_id} does not exist (any more)")
    if mark.score > mark.max_score:
        raise Rejected("validation_error", "score: must not be more than max_score")


async def set_mark(
    db: AsyncSession,
    library: LessonLibrary,
    settings: Settings,
    auth: AuthContext,
    pupil_id: int,
    lesson_id: str,
    activity_id: str,
    mark: MarkSet,
    device_id: str | None = None,
) -> tuple[OperationResult, Mark | None]:
    """One `mark.set` (from the API or a sync push): applied once per op id, audited, announced.

    Access is checked before the op id is looked up: a replay is answered only to someone who may mark
    that pupil now, so replaying an op id (one's own or another's) against a pupil of another class
    reveals nothing and changes nothing (docs/security.md, "Replays come after authorisation")."""
    op_id = mark.op_id or uuid.uuid4()
    now = utcnow()
    try:
        if not await can_mark_pupil(db, auth, pupil_id):
            raise Rejected("forbidden", "you can only mark pupils in the classes you teach")
        previous = await answered_before(db, [op_id])
        if op_id in previous:
            result = replay_result(previous[op_id], auth.user_id)
            SYNC_OPERATIONS.labels(kind="mark.set", outcome=result.outcome).inc()
            return result, None
        await _check(library, lesson_id, activity_id, mark)
        if not await claim_operation(db, op_id=op_id, user_id=auth.user_id, kind="mark.set", now=now):
            # The same operation arrived twice at once (a retry racing the original): answer the
            # second as the replay it is.
            await db.rollback()
            result = replay_result((await answered_before(db, [op_id]))[op_id], auth.user_id)
            SYNC_OPERATIONS.labels(kind="mark.set", outcome=result.outcome).inc()
            return result, None
    except Rejected as rejection:
        await record_refusal(
            db, op_id=op_id, user_id=auth.user_id, kind="mark.set", rejection=rejection, now=now
        )
        await db.commit()
        SYNC_OPERATIONS.labels(kind="mark.set", outcome="rejected").inc()
        return OperationResult(
            op_id=op_id, outcome="rejected", reason=rejection.reason, code=rejection.code, received_at=now
        ), None
    client_time = clamp_client_time(mark.client_time, now, settings.clock_skew_seconds)
    row = await write_mark(
        db,
        pupil_id=pupil_id,
        lesson_id=lesson_id,
        activity_id=activity_id,
        score=mark.score,
        max_score=mark.max_score,
        feedback=mark.feedback,
        source="teacher",
        marker_id=auth.user_id,
        client_time=client_time,
        op_id=op_id,
    )
    pupil = await db.get(User, pupil_id)
    await audit.record(
        db,
        "mark.changed",
        actor=auth.username,
        target=f"{pupil.username if pupil else pupil_id}:{lesson_id}/{activity_id}",
        client_ip=auth.client_ip,
        user_agent=auth.user_agent,
        details={
            "score": mark.score,
            "max_score": mark.max_score,
            "op_id": str(op_id),
            "device_id": device_id,
            "current": row.op_id == op_id,
        },
    )
    await db.commit()
    SYNC_OPERATIONS.labels(kind="mark.set", outcome="applied").inc()
    return OperationResult(op_id=op_id, outcome="applied", received_at=now), row


async def marks_for_pupil(db: AsyncSession, pupil_id: int) -> list[MarkOut]:
    rows = (
        await db.execute(
            select(Mark, User.username)
            .outerjoin(User, User.id == Mark.marker_id)
            .where(Mark.pupil_id == pupil_id)
            .order_by(Mark.lesson_id, Mark.activity_id)
        )
    ).all()
    return [mark_out(row, marker) for row, marker in rows]


def decode_mark_payload(payload: dict[str, object]) -> MarkSet:
    try:
        return msgspec.convert(payload, MarkSet)
    except msgspec.ValidationError as error:
        raise Rejected("validation_error", f"payload: {error}") from error


__all__ = ["decode_mark_payload", "mark_out", "marks_for_pupil", "set_mark"]
