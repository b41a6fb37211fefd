"""Assignments: a teacher sets a lesson (or chosen activities of it) for a class with a due time.

Set through the sync push as an `assignment.set` operation (a teacher's laptop may be offline when it
is set), applied once per op id like a mark, with the answers' conflict rule: the change with the
latest client time is the current one, ties broken by op id, and a change that loses is still recorded.
Whether a pupil's work is on time is decided by the server's `received_at` of their answer's versions,
never by a laptop's clock: the receipt the pupil holds is the server's own time.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import msgspec
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.base import utcnow
from server.db.models import ActivityRevision, Enrolment, Mark, SchoolClass, User
from server.db.models import Assignment as AssignmentRow
from server.domain.auth.context import AuthContext
from server.domain.lessons.services import LessonLibrary
from server.domain.sync.answers import Rejected, clamp_client_time
from server.domain.sync.ledger import answered_before, claim_operation, record_refusal, replay_result
from server.lib import audit
from server.lib.csvsafe import csv_safe
from server.lib.metrics import SYNC_OPERATIONS
from shared.wire.assignments import (
    AssignedWork,
    Assignment,
    AssignmentProgress,
    AssignmentPupilRow,
    AssignmentSet,
    PupilAssignment,
    WorkStatus,
)
from shared.wire.auth import User as UserOut
from shared.wire.common import Role
from shared.wire.sync import Operation, OperationResult

__all__ = [
    "AssignmentAccessError",
    "assignment_marks_csv",
    "assignment_progress",
    "assignments_for_class",
    "assignments_for_pupil",
    "class_marks_csv",
    "every_assignment",
    "set_assignment",
]

KIND = "assignment.set"


class AssignmentAccessError(Exception):
    """The class or assignment does not exist, or is not the caller's: the same answer for both."""


# -- setting ------------------------------------------------------------------------------------------


async def set_assignment(
    db: AsyncSession,
    library: LessonLibrary,
    settings: Settings,
    auth: AuthContext,
    op: Operation,
    device_id: str | None,
) -> OperationResult:
    """One `assignment.set`: access first (a replay is answered only to whoever may set it now), then
    the op id claimed once, the change applied if it is the latest, audited."""
    now = utcnow()
    try:
        change = _decode(op)
        school_class = await db.get(SchoolClass, change.class_id)
        if not _teaches(auth, school_class):
            raise Rejected("forbidden", f"class_id: you do not teach class {change.class_id}")
        existing = await db.get(AssignmentRow, change.assignment_id)
        if existing is not None and existing.class_id != change.class_id:
            raise Rejected("conflict", "assignment_id: this assignment belongs to another class")
        previous = await answered_before(db, [op.op_id])
        if op.op_id in previous:
            result = replay_result(previous[op.op_id], auth.user_id)
            SYNC_OPERATIONS.labels(kind=KIND, outcome=result.outcome).inc()
            return result
        _check_lesson(library, op.lesson_id, change.activity_ids)
        if not await claim_operation(db, op_id=op.op_id, user_id=auth.user_id, kind=KIND, now=now):
            await db.rollback()
            result = replay_result((await answered_before(db, [op.op_id]))[op.op_id], auth.user_id)
            SYNC_OPERATIONS.labels(kind=KIND, outcome=result.outcome).inc()
            return result
    except Rejected as rejection:
        await record_refusal(
            db, op_id=op.op_id, user_id=auth.user_id, kind=KIND, rejection=rejection, now=now
        )
        await db.commit()
        SYNC_OPERATIONS.labels(kind=KIND, outcome="rejected").inc()
        return OperationResult(
            op_id=op.op_id, outcome="rejected", reason=rejection.reason, code=rejection.code, received_at=now
        )
    client_time = clamp_client_time(op.client_time, now, settings.clock_skew_seconds)
    current = existing is None or (client_time, str(op.op_id)) > (existing.client_time, str(existing.op_id))
    if existing is None:
        db.add(
            AssignmentRow(
                id=change.assignment_id,
                class_id=change.class_id,
                lesson_id=op.lesson_id,
                activity_ids=list(change.activity_ids),
                title=change.title,
                due_at=change.due_at,
                removed=change.removed,
                set_by=auth.user_id,
                created_at=now,
                updated_at=now,
                client_time=client_time,
                op_id=op.op_id,
            )
        )
    elif current:
        existing.lesson_id = op.lesson_id
        existing.activity_ids = list(change.activity_ids)
        existing.title = change.title
        existing.due_at = change.due_at
        existing.removed = change.removed
        existing.set_by = auth.user_id
        existing.updated_at = now
        existing.client_time = client_time
        existing.op_id = op.op_id
    action = "assignment.created" if existing is None else "assignment.changed"
    if change.removed:
        action = "assignment.removed"
    await audit.record(
        db,
        action,
        actor=auth.username,
        target=f"class {change.class_id}:{op.lesson_id}",
        client_ip=auth.client_ip,
        user_agent=auth.user_agent,
        details={
            "assignment_id": str(change.assignment_id),
            "due_at": change.due_at.isoformat(),
            "activities": list(change.activity_ids) or "whole lesson",
            "op_id": str(op.op_id),
            "device_id": device_id,
            "current": current,
        },
    )
    await db.commit()
    SYNC_OPERATIONS.labels(kind=KIND, outcome="applied").inc()
    return OperationResult(op_id=op.op_id, outcome="applied", received_at=now)


def _decode(op: Operation) -> AssignmentSet:
    try:
        change = msgspec.convert(op.payload, AssignmentSet)
    except msgspec.ValidationError as error:
        raise Rejected("validation_error", f"payload: {error}") from None
    if len(set(change.activity_ids)) != len(change.activity_ids):
        raise Rejected("validation_error", "payload.activity_ids: an activity is named twice")
    return change


def _check_lesson(library: LessonLibrary, lesson_id: str, activity_ids: Sequence[str]) -> None:
    lesson = library.lesson(lesson_id)
    if lesson is None:
        raise Rejected("not_found", f"lesson_id: lesson {lesson_id} does not exist (any more)")
    known = {activity.id for activity in lesson.activities}
    unknown = [activity_id for activity_id in activity_ids if activity_id not in known]
    if unknown:
        raise Rejected("not_found", f"payload.activity_ids: {lesson_id} has no activity {unknown[0]}")


def _teaches(auth: AuthContext, school_class: SchoolClass | None) -> bool:
    if school_class is None:
        return False
    return auth.is_admin or (auth.role == "teacher" and school_class.teacher_id == auth.user_id)


# -- reading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Work:
    versions: int
    last_on_time: datetime | None
    first_late: datetime | None


def _assignment_out(
    row: AssignmentRow, library: LessonLibrary, class_name: str, set_by: str | None
) -> Assignment:
    lesson = library.lesson(row.lesson_id)
    if row.activity_ids:
        activity_ids = list(row.activity_ids)
    else:
        activity_ids = [activity.id for activity in lesson.activities] if lesson else []
    return Assignment(
        id=row.id,
        class_id=row.class_id,
        class_name=class_name,
        lesson_id=row.lesson_id,
        lesson_title=lesson.title if lesson else row.lesson_id,
        activity_ids=activity_ids,
        whole_lesson=not row.activity_ids,
        title=row.title or (lesson.title if lesson else row.lesson_id),
        due_at=row.due_at,
        set_by=set_by,
        updated_at=row.updated_at,
        removed=row.removed,
    )


async def _rows(
    db: AsyncSession, *conditions: object, include_removed: bool
) -> list[tuple[AssignmentRow, str, str | None]]:
    query = (
        select(AssignmentRow, SchoolClass.name, User.username)
        .join(SchoolClass, SchoolClass.id == AssignmentRow.class_id)
        .outerjoin(User, User.id == AssignmentRow.set_by)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(AssignmentRow.due_at, SchoolClass.name, AssignmentRow.id)
    )
    if not include_removed:
        query = query.where(AssignmentRow.removed.is_(False))
    return [(row, name, set_by) for row, name, set_by in (await db.execute(query)).all()]


async def _class_for(db: AsyncSession, auth: AuthContext, class_id: int) -> SchoolClass:
    school_class = await db.get(SchoolClass, class_id)
    if not _teaches(auth, school_class):
        raise AssignmentAccessError(f"class {class_id}")
    return cast(SchoolClass, school_class)


async def assignments_for_class(
    db: AsyncSession, library: LessonLibrary, auth: AuthContext, class_id: int
) -> list[Assignment]:
    """A class's assignments, withdrawn ones included, for its teacher (or an admin)."""
    await _class_for(db, auth, class_id)
    rows = await _rows(db, AssignmentRow.class_id == class_id, include_removed=True)
    return [_assignment_out(row, library, name, set_by) for row, name, set_by in rows]


async def every_assignment(db: AsyncSession, library: LessonLibrary) -> list[Assignment]:
    """Every assignment of the school (the admin console)."""
    rows = await _rows(db, include_removed=True)
    return [_assignment_out(row, library, name, set_by) for row, name, set_by in rows]


async def _work(
    db: AsyncSession, pupil_ids: Sequence[int], assignment: Assignment
) -> dict[tuple[int, str], _Work]:
    """Per pupil and assigned activity: how many versions reached the server, the last by the due
    time and the first after it (the server's receive times)."""
    if not pupil_ids or not assignment.activity_ids:
        return {}
    due = assignment.due_at
    on_time = case((ActivityRevision.received_at <= due, ActivityRevision.received_at))
    late = case((ActivityRevision.received_at > due, ActivityRevision.received_at))
    rows = await db.execute(
        select(
            ActivityRevision.pupil_id,
            ActivityRevision.activity_id,
            func.count(),
            func.max(on_time),
            func.min(late),
        )
        .where(
            ActivityRevision.pupil_id.in_(pupil_ids),
            ActivityRevision.lesson_id == assignment.lesson_id,
            ActivityRevision.activity_id.in_(assignment.activity_ids),
        )
        .group_by(ActivityRevision.pupil_id, ActivityRevision.activity_id)
    )
    return {
        (pupil_id, activity_id): _Work(count, last_on_time, first_late)
        for pupil_id, activity_id, count, last_on_time, first_late in rows.all()
    }


async def _marks(
    db: AsyncSession, pupil_ids: Sequence[int], assignment: Assignment
) -> dict[tuple[int, str], Mark]:
    if not pupil_ids or not assignment.activity_ids:
        return {}
    rows = await db.execute(
        select(Mark).where(
            Mark.pupil_id.in_(pupil_ids),
            Mark.lesson_id == assignment.lesson_id,
            Mark.activity_id.in_(assignment.activity_ids),
        )
    )
    return {(mark.pupil_id, mark.activity_id): mark for mark in rows.scalars()}


def _work_out(activity_id: str, work: _Work | None, mark: Mark | None) -> AssignedWork:
    status: WorkStatus = "missing"
    received_at = None
    if work is not None and work.last_on_time is not None:
        status, received_at = "on_time", work.last_on_time
    elif work is not None and work.first_late is not None:
        status, received_at = "late", work.first_late
    return AssignedWork(
        activity_id=activity_id,
        status=status,
        received_at=received_at,
        versions=work.versions if work else 0,
        score=mark.score if mark else None,
        max_score=mark.max_score if mark else None,
    )


async def assignments_for_pupil(
    db: AsyncSession, library: LessonLibrary, pupil_id: int
) -> list[PupilAssignment]:
    """The assignments of the pupil's classes (withdrawn ones left out), with what the server has."""
    class_ids = select(Enrolment.class_id).where(Enrolment.pupil_id == pupil_id)
    rows = await _rows(db, AssignmentRow.class_id.in_(class_ids), include_removed=False)
    now = utcnow()
    answer = []
    for row, name, set_by in rows:
        assignment = _assignment_out(row, library, name, set_by)
        work = await _work(db, [pupil_id], assignment)
        marks = await _marks(db, [pupil_id], assignment)
        pieces = [
            _work_out(activity_id, work.get((pupil_id, activity_id)), marks.get((pupil_id, activity_id)))
            for activity_id in assignment.activity_ids
        ]
        overdue = now > assignment.due_at and any(piece.status == "missing" for piece in pieces)
        answer.append(PupilAssignment(assignment=assignment, work=pieces, overdue=overdue))
    return answer


async def _assignment_for(
    db: AsyncSession, library: LessonLibrary, auth: AuthContext, assignment_id: uuid.UUID
) -> tuple[Assignment, SchoolClass]:
    row = await db.get(AssignmentRow, assignment_id)
    if row is None:
        raise AssignmentAccessError(f"assignment {assignment_id}")
    school_class = await _class_for(db, auth, row.class_id)
    set_by = await db.get(User, row.set_by) if row.set_by else None
    return _assignment_out(row, library, school_class.name, set_by.username if set_by else None), school_class


async def _pupils(db: AsyncSession, class_id: int) -> list[User]:
    rows = await db.execute(
        select(User)
        .join(Enrolment, Enrolment.pupil_id == User.id)
        .where(Enrolment.class_id == class_id)
        .order_by(User.display_name, User.username)
    )
    return list(rows.scalars())


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=cast(Role, user.role),
        disabled=user.disabled,
    )


async def assignment_progress(
    db: AsyncSession, library: LessonLibrary, auth: AuthContext, assignment_id: uuid.UUID
) -> AssignmentProgress:
    """Who has submitted, who is late, marks so far: one row per pupil of the class."""
    assignment, school_class = await _assignment_for(db, library, auth, assignment_id)
    pupils = await _pupils(db, school_class.id)
    ids = [pupil.id for pupil in pupils]
    work = await _work(db, ids, assignment)
    marks = await _marks(db, ids, assignment)
    lesson = library.lesson(assignment.lesson_id)
    maximum = {activity.id: activity.max_score for activity in lesson.activities} if lesson else {}
    rows = []
    for pupil in pupils:
        pieces = [
            _work_out(activity_id, work.get((pupil.id, activity_id)), marks.get((pupil.id, activity_id)))
            for activity_id in assignment.activity_ids
        ]
        rows.append(
            AssignmentPupilRow(
                pupil=_user_out(pupil),
                on_time=sum(1 for piece in pieces if piece.status == "on_time"),
                late=sum(1 for piece in pieces if piece.status == "late"),
                missing=sum(1 for piece in pieces if piece.status == "missing"),
                score=sum(piece.score or 0.0 for piece in pieces),
                max_score=sum(maximum.get(activity_id, 0.0) for activity_id in assignment.activity_ids),
                work=pieces,
            )
        )
    return AssignmentProgress(assignment=assignment, pupils=rows)


# -- exports for the markbook -------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


async def assignment_marks_csv(
    db: AsyncSession, library: LessonLibrary, auth: AuthContext, assignment_id: uuid.UUID
) -> tuple[str, str]:
    """(file name, CSV): a row per pupil, the mark and submission status of each assigned activity."""
    progress = await assignment_progress(db, library, auth, assignment_id)
    assignment = progress.assignment
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["username", "display_name", "on_time", "late", "missing", "score", "max_score"]
    for activity_id in assignment.activity_ids:
        header += [f"{activity_id} score", f"{activity_id} status", f"{activity_id} received_at"]
    writer.writerow(header)
    for row in progress.pupils:
        line = [
            csv_safe(row.pupil.username),
            csv_safe(row.pupil.display_name),
            row.on_time,
            row.late,
            row.missing,
            _number(row.score),
            _number(row.max_score),
        ]
        for piece in row.work:
            line += [
                _number(piece.score),
                piece.status,
                piece.received_at.isoformat() if piece.received_at else "",
            ]
        writer.writerow(line)
    name = (
        f"post16-{_file_part(assignment.class_name)}-{assignment.lesson_id}-{assignment.due_at:%Y-%m-%d}.csv"
    )
    return name, out.getvalue()


async def class_marks_csv(
    db: AsyncSession, library: LessonLibrary, auth: AuthContext, class_id: int
) -> tuple[str, str]:
    """(file name, CSV): a row per pupil, a column per activity of every lesson (the current mark)."""
    school_class = await _class_for(db, auth, class_id)
    pupils = await _pupils(db, class_id)
    marks: dict[tuple[int, str, str], Mark] = {}
    if pupils:
        rows = await db.execute(select(Mark).where(Mark.pupil_id.in_([pupil.id for pupil in pupils])))
        marks = {(mark.pupil_id, mark.lesson_id, mark.activity_id): mark for mark in rows.scalars()}
    lessons = library.lessons.lessons if library.lessons else []
    columns = [(lesson.id, activity.id) for lesson in lessons for activity in lesson.activities]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "username",
            "display_name",
            "total",
            "out_of",
            *[f"{lesson}/{activity}" for lesson, activity in columns],
        ]
    )
    for pupil in pupils:
        own = [marks.get((pupil.id, lesson_id, activity_id)) for lesson_id, activity_id in columns]
        given = [mark for mark in own if mark is not None]
        writer.writerow(
            [
                csv_safe(pupil.username),
                csv_safe(pupil.display_name),
                _number(sum(mark.score for mark in given)),
                _number(sum(mark.max_score for mark in given)),
                *[_number(mark.score if mark else None) for mark in own],
            ]
        )
    return f"post16-{_file_part(school_class.name)}-marks.csv", out.getvalue()


def _file_part(name: str) -> str:
    """A class name as a safe piece of a file name."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-")
    return cleaned[:60] or "class"
