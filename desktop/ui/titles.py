"""Names a person reads: “Activity” (Lesson) instead of the ids the wire and the store use.

Everything that shows an activity to a pupil or teacher (notifications, the sync log, marks) goes
through `TitleBook`, so an id such as ``why-casting`` never reaches the screen while this computer knows
the title (from the cached lesson list, or, for an activity a lesson update removed, its last served
definition)."""

from __future__ import annotations

import msgspec

from desktop.core.store import Store
from shared.wire.teaching import ClassProgress, TeacherClass

__all__ = ["TitleBook"]


class TitleBook:
    """Titles looked up once from the store (a handful of queries), then answered from memory."""

    def __init__(self, store: Store) -> None:
        self._lessons: dict[str, str] = {}
        self._activities: dict[tuple[str, str], str] = {}
        for archived in store.lessons.archived_answers():
            self._lessons.setdefault(archived.lesson_id, archived.lesson_title)
            if archived.activity is not None:
                self._activities[(archived.lesson_id, archived.activity_id)] = archived.activity.title
        for summary in store.lessons.summaries():
            self._lessons[summary.id] = summary.title
            for activity in summary.activities:
                self._activities[(summary.id, activity.id)] = activity.title
        self._pupils: dict[int, str] = {}
        classes = store.cache.get("teacher:classes")  # a teacher's cached classes name their pupils
        if classes is not None:
            for taught in msgspec.json.decode(classes[0], type=list[TeacherClass]):
                progress = store.cache.get(f"teacher:progress:{taught.id}")
                if progress is not None:
                    for pupil in msgspec.json.decode(progress[0], type=ClassProgress).pupils:
                        self._pupils[pupil.id] = pupil.display_name

    def pupil(self, pupil_id: int | None) -> str:
        if pupil_id is None:
            return "a pupil"
        return self._pupils.get(pupil_id, f"pupil {pupil_id}")

    def lesson(self, lesson_id: str) -> str:
        return self._lessons.get(lesson_id, lesson_id)

    def activity(self, lesson_id: str, activity_id: str) -> str:
        return self._activities.get((lesson_id, activity_id), activity_id)

    def describe(self, lesson_id: str, activity_id: str) -> str:
        """“Activity title” (Lesson title), the form used in sentences and the sync log; “Lesson title”
        for an operation about a whole lesson (work set for a class names no activity)."""
        if not activity_id:
            return f"“{self.lesson(lesson_id)}”"
        return f"“{self.activity(lesson_id, activity_id)}” ({self.lesson(lesson_id)})"
