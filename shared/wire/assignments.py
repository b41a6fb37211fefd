"""Assignments: a teacher sets a lesson (or chosen activities of it) for a class, due at a time.

A teacher's laptop sets one offline like a mark: an `assignment.set` operation in the outbox whose
payload is an `AssignmentSet`; the client names the assignment (`assignment_id`, a UUID), so the same
assignment edited twice offline stays one assignment. Whether work is on time is decided by the time the
server received it (`received_at` of the answer's versions), never by a laptop's clock.
"""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from shared.wire.auth import User
from shared.wire.common import NO_NUL, AwareDatetime, Id, Slug

MAX_ASSIGNED_ACTIVITIES = 200
AssignmentTitle = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
#: on_time: a version reached the server by the due time; late: only after it; missing: none yet.
WorkStatus = Literal["on_time", "late", "missing"]


class AssignmentSet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The payload of an `assignment.set` operation (its `lesson_id` is the lesson set).

    `activity_ids` empty: the whole lesson, as it stands when the work is looked at. `removed`: the
    teacher withdrew the assignment (kept, and shown as withdrawn, so nothing vanishes unexplained)."""

    assignment_id: UUID
    class_id: Id
    due_at: AwareDatetime
    activity_ids: Annotated[list[Slug], msgspec.Meta(max_length=MAX_ASSIGNED_ACTIVITIES)] = []
    title: AssignmentTitle = ""
    removed: bool = False


class Assignment(msgspec.Struct, kw_only=True):
    id: UUID
    class_id: int
    class_name: str
    lesson_id: str
    lesson_title: str
    #: the activities set: those named, or every activity of the lesson
    activity_ids: list[str]
    whole_lesson: bool
    title: str
    due_at: datetime
    set_by: str | None
    #: when the server received the latest change (the teacher's laptop may have been offline)
    updated_at: datetime
    removed: bool


class AssignedWork(msgspec.Struct, kw_only=True):
    """One pupil's work on one assigned activity: the evidence of when it reached the server."""

    activity_id: str
    status: WorkStatus
    #: the server's receipt of the last version received by the due time (on_time), else the first after
    received_at: datetime | None = None
    versions: int = 0
    score: float | None = None
    max_score: float | None = None


class PupilAssignment(msgspec.Struct, kw_only=True):
    """An assignment as its pupil sees it: what is due, when, and what the server has received."""

    assignment: Assignment
    work: list[AssignedWork]
    overdue: bool


class AssignmentPupilRow(msgspec.Struct, kw_only=True):
    pupil: User
    on_time: int
    late: int
    missing: int
    score: float
    max_score: float
    work: list[AssignedWork]


class AssignmentProgress(msgspec.Struct, kw_only=True):
    """The teacher's view of one assignment: who has submitted, who is late, marks so far."""

    assignment: Assignment
    pupils: list[AssignmentPupilRow]


__all__ = [
    "MAX_ASSIGNED_ACTIVITIES",
    "AssignedWork",
    "Assignment",
    "AssignmentProgress",
    "AssignmentPupilRow",
    "AssignmentSet",
    "AssignmentTitle",
    "PupilAssignment",
    "WorkStatus",
]
