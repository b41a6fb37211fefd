"""`/api/assignments` (a pupil's), `/api/teacher/...` (a teacher's classes: assignments, progress and the
markbook exports) and `/api/admin/assignments`. Setting an assignment is an `assignment.set` operation
through `POST /api/sync/push`, so a teacher's laptop can set one offline (server.domain.sync.services)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import TypeVar

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.params import FromPath

from server.domain.assignments.services import (
    AssignmentAccessError,
    assignment_marks_csv,
    assignment_progress,
    assignments_for_class,
    assignments_for_pupil,
    class_marks_csv,
    every_assignment,
)
from server.domain.deps import Caller, Db, PathId
from server.lib.errors import not_found
from shared.wire.assignments import Assignment, AssignmentProgress, PupilAssignment

T = TypeVar("T")


async def _or_not_found(work: Awaitable[T]) -> T:
    """Someone else's class or assignment answers exactly like one that does not exist."""
    try:
        return await work
    except AssignmentAccessError as missing:
        raise not_found(str(missing)) from None


def _csv(name_and_text: tuple[str, str]) -> Response[str]:
    name, text = name_and_text
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class PupilAssignmentController(Controller):
    path = "/api/assignments"
    tags = ["assignments"]

    @get("/")
    async def mine(self, auth: Caller, db: Db, state: State) -> list[PupilAssignment]:
        """The work set for your classes: what is due and when, and the server's receipt of each answer
        (the server's received time is what counts, not your laptop's clock)."""
        return await assignments_for_pupil(db, state.lessons, auth.user_id)


class TeacherAssignmentController(Controller):
    path = "/api/teacher"
    tags = ["teaching"]

    @get("/classes/{class_id:int}/assignments")
    async def of_class(self, class_id: PathId, teacher: Caller, db: Db, state: State) -> list[Assignment]:
        """The class's assignments, withdrawn ones included."""
        return await _or_not_found(assignments_for_class(db, state.lessons, teacher, class_id))

    @get("/assignments/{assignment_id:uuid}")
    async def progress(
        self, assignment_id: FromPath[uuid.UUID], teacher: Caller, db: Db, state: State
    ) -> AssignmentProgress:
        """One assignment: each pupil's work on time, late or missing, and marks so far."""
        return await _or_not_found(assignment_progress(db, state.lessons, teacher, assignment_id))

    @get("/assignments/{assignment_id:uuid}/marks.csv", media_type=MediaType.TEXT)
    async def assignment_csv(
        self, assignment_id: FromPath[uuid.UUID], teacher: Caller, db: Db, state: State
    ) -> Response[str]:
        """The assignment for the markbook: a row per pupil, score, status and receipt per activity."""
        return _csv(await _or_not_found(assignment_marks_csv(db, state.lessons, teacher, assignment_id)))

    @get("/classes/{class_id:int}/marks.csv", media_type=MediaType.TEXT)
    async def class_csv(self, class_id: PathId, teacher: Caller, db: Db, state: State) -> Response[str]:
        """The class's marks for the markbook: a row per pupil, a column per activity."""
        return _csv(await _or_not_found(class_marks_csv(db, state.lessons, teacher, class_id)))


class AdminAssignmentController(Controller):
    path = "/api/admin/assignments"
    tags = ["admin"]

    @get("/")
    async def every(self, admin: Caller, db: Db, state: State) -> list[Assignment]:
        """Every assignment of the school, withdrawn ones included."""
        return await every_assignment(db, state.lessons)


__all__ = ["AdminAssignmentController", "PupilAssignmentController", "TeacherAssignmentController"]
