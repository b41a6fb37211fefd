"""Checks that arrive by sync: a pupil's `code.check` operations, queued here and marked by the worker.

A laptop that checked code offline (a provisional mark of the visible tests) queues a `code.check`
operation for that exact code after the save that holds it. The push records it once per op id
(`code_checks`, answered "applied" with the revision it will mark; a replay "duplicate"); the worker
(worker.py) runs every test, hidden ones included, in the sandbox and writes the automatic mark of that
revision, which reaches the laptop by pull. Access comes before replays: an op id is only answered to
the pupil who sent it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.models import ActivityRevision, CodeCheck
from server.domain.auth.context import AuthContext
from server.domain.lessons.services import LessonLibrary
from server.domain.sync.answers import Rejected
from server.lib.metrics import SYNC_OPERATIONS
from shared.lessons import CodeActivity
from shared.wire.run import MAX_CODE_CHARS
from shared.wire.sync import Operation, OperationResult

__all__ = ["request_check", "revision_holding"]


async def request_check(
    db: AsyncSession, library: LessonLibrary, auth: AuthContext, op: Operation
) -> OperationResult:
    """Queue one `code.check` operation (idempotent on its op id); refusals are final."""
    now = utcnow()
    try:
        revision = await _check_request(db, library, auth, op)
    except Rejected as rejection:
        SYNC_OPERATIONS.labels(kind="code.check", outcome="rejected").inc()
        return OperationResult(
            op_id=op.op_id, outcome="rejected", reason=rejection.reason, code=rejection.code, received_at=now
        )
    earlier = (await db.execute(select(CodeCheck).where(CodeCheck.op_id == op.op_id))).scalar_one_or_none()
    if earlier is not None:
        if earlier.pupil_id != auth.user_id:  # someone else's op id: reveal nothing of it
            SYNC_OPERATIONS.labels(kind="code.check", outcome="rejected").inc()
            return OperationResult(
                op_id=op.op_id,
                outcome="rejected",
                code="conflict",
                reason="this operation id was already used; send the check again with a new one",
                received_at=now,
            )
        SYNC_OPERATIONS.labels(kind="code.check", outcome="duplicate").inc()
        return OperationResult(
            op_id=op.op_id, outcome="duplicate", revision=earlier.revision, received_at=earlier.requested_at
        )
    db.add(
        CodeCheck(
            op_id=op.op_id,
            pupil_id=auth.user_id,
            lesson_id=op.lesson_id,
            activity_id=op.activity_id,
            revision=revision,
            status="queued",
            requested_at=now,
            attempts=0,
        )
    )
    await db.flush()
    SYNC_OPERATIONS.labels(kind="code.check", outcome="applied").inc()
    return OperationResult(op_id=op.op_id, outcome="applied", revision=revision, received_at=now)


async def _check_request(db: AsyncSession, library: LessonLibrary, auth: AuthContext, op: Operation) -> int:
    """The revision the check is for, after every rule; raises `Rejected` naming what is wrong."""
    if auth.role != "pupil":
        raise Rejected("forbidden", "only pupils ask for their code to be checked")
    activity_id = op.activity_id
    if activity_id is None:
        raise Rejected("validation_error", "activity_id: a check names the activity it is for")
    activity = library.activity(op.lesson_id, activity_id)
    if activity is None:
        raise Rejected("not_found", f"activity {op.lesson_id}/{activity_id} does not exist (any more)")
    if not isinstance(activity, CodeActivity) or not activity.tests:
        raise Rejected("validation_error", "activity_id: this activity is not marked by tests")
    code = op.payload.get("code")
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        raise Rejected("validation_error", f"payload.code: the code (at most {MAX_CODE_CHARS} characters)")
    revision = await revision_holding(db, auth.user_id, op.lesson_id, activity_id, code)
    if revision is None:
        raise Rejected(
            "not_found", "payload.code: no saved version of this answer holds this code (save it first)"
        )
    return revision


async def revision_holding(
    db: AsyncSession, pupil_id: int, lesson_id: str, activity_id: str, code: str
) -> int | None:
    """The latest of the pupil's versions of this answer whose code is exactly `code`."""
    rows = await db.execute(
        select(ActivityRevision.revision, ActivityRevision.state)
        .where(
            ActivityRevision.pupil_id == pupil_id,
            ActivityRevision.lesson_id == lesson_id,
            ActivityRevision.activity_id == activity_id,
        )
        .order_by(ActivityRevision.revision.desc())
        .limit(200)
    )
    for revision, state in rows:
        if isinstance(state, dict) and state.get("code") == code:
            return int(revision)
    return None


async def queued_count(db: AsyncSession) -> int:
    return int((await db.execute(select(func.count()).where(CodeCheck.status == "queued"))).scalar_one())
