"""`/api/lessons`: the manifest and lesson content (teacher-only fields removed for pupils)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import FromPath

from server.domain.deps import Caller
from server.domain.lessons.services import LessonLibrary
from server.lib.errors import not_found
from shared.lessons import Lesson, ManifestSummary


class LessonController(Controller):
    path = "/api/lessons"
    tags = ["lessons"]

    @get("/")
    async def manifest(self, state: State, auth: Caller) -> ManifestSummary:
        """Every lesson with its version and activities (ids, kinds, titles, max scores)."""
        library: LessonLibrary = state.lessons
        return library.summary()

    @get("/{lesson_id:str}")
    async def lesson(self, lesson_id: FromPath[str], state: State, auth: Caller) -> Lesson:
        """A lesson's content. Pupils get it without model answers, correct options or mark schemes."""
        library: LessonLibrary = state.lessons
        lesson = library.lesson(lesson_id)
        if lesson is None:
            raise not_found(f"lesson {lesson_id!r}")
        return lesson if auth.is_teacher else lesson.for_pupil()


__all__ = ["LessonController"]
