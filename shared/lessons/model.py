"""The lesson format as msgspec Structs: what the validator produces and what server and desktop exchange.

One set of types serves both audiences. Teacher-only fields (``model_answer``, ``wrong_answers``,
``correct``, ``mark_scheme``, and the answer keys of the kinds in puzzles.py) are ``None`` / empty in a
lesson returned by :meth:`Lesson.for_pupil`, whose ``pupil_view`` flag is then true. Hidden code tests
keep only their name for pupils.
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from shared.lessons.puzzles import (
    GapsActivity,
    ParsonsActivity,
    PredictActivity,
    TraceActivity,
    redact_puzzle,
)

__all__ = [
    "SLUG_PATTERN",
    "Activity",
    "ActivityBlock",
    "ActivityKind",
    "ActivitySummary",
    "Block",
    "ChoiceActivity",
    "CodeActivity",
    "CodeTest",
    "Lesson",
    "LessonMeta",
    "LessonSet",
    "LessonSummary",
    "ManifestEntry",
    "ManifestSummary",
    "TextActivity",
    "TextBlock",
    "is_slug",
]

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
_SLUG = re.compile(SLUG_PATTERN)

ActivityKind = Literal["code", "choice", "text", "parsons", "gaps", "predict", "trace"]


def is_slug(value: str) -> bool:
    """True for ids the format accepts: lowercase letters, digits and hyphens, 1-64 long."""
    return _SLUG.fullmatch(value) is not None


class CodeTest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One auto-marking check for a code activity.

    The pupil's program runs with ``stdin``; then ``assert_code`` (if any) runs in the same namespace.
    It passes when nothing raised and, if ``expected_stdout`` is set, stdout matches it after trailing
    whitespace is stripped from every line and trailing blank lines are dropped.
    """

    name: str
    stdin: str = ""
    expected_stdout: str | None = None
    assert_code: str | None = None
    hidden: bool = False


MAX_HINTS = 5
MAX_HINT_CHARS = 1000


class _ActivityBase(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    id: str
    title: str
    prompt: str
    max_score: float = 1.0
    hints: list[str] = []
    """Progressive hints, revealed one at a time when the pupil asks; the number revealed travels in
    the answer (`hints_used`) and is shown to the teacher beside the mark. Help, not an answer key: the
    pupil's copy carries them."""

    @property
    def kind(self) -> ActivityKind:
        tag: ActivityKind = type(self).__struct_config__.tag  # type: ignore[assignment]
        return tag


class CodeActivity(_ActivityBase, tag="code"):
    """Write Python; marked by its ``tests`` if it has any, otherwise by the teacher."""

    starter: str = ""
    model_answer: str | None = None
    wrong_answers: list[str] = []
    tests: list[CodeTest] = []


class ChoiceActivity(_ActivityBase, tag="choice"):
    """Pick one option (or several when ``multiple``); ``correct`` holds the right option indexes."""

    options: list[str]
    correct: list[int] | None = None
    multiple: bool = False


class TextActivity(_ActivityBase, tag="text"):
    """A short written answer of at most ``max_length`` characters, marked by the teacher."""

    mark_scheme: str | None = None
    max_length: int = 2000


Activity = (
    CodeActivity
    | ChoiceActivity
    | TextActivity
    | ParsonsActivity
    | GapsActivity
    | PredictActivity
    | TraceActivity
)


class TextBlock(msgspec.Struct, tag_field="type", tag="markdown"):
    """A run of lesson Markdown between activities."""

    markdown: str


class ActivityBlock(msgspec.Struct, tag_field="type", tag="activity"):
    """The place in the lesson where activity ``activity_id`` appears."""

    activity_id: str


Block = TextBlock | ActivityBlock


class LessonMeta(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The front matter at the top of a lesson file."""

    id: str
    title: str
    summary: str
    order: int
    estimated_minutes: int
    objectives: list[str] = []


class ActivitySummary(msgspec.Struct, kw_only=True):
    id: str
    kind: ActivityKind
    title: str
    max_score: float


class LessonSummary(msgspec.Struct, kw_only=True):
    id: str
    title: str
    summary: str
    order: int
    estimated_minutes: int
    version: str
    activities: list[ActivitySummary]


class ManifestSummary(msgspec.Struct, kw_only=True):
    """What ``GET /api/lessons`` needs: every lesson with its version and activities, no content."""

    title: str
    version: str
    lessons: list[LessonSummary]


class Lesson(msgspec.Struct, kw_only=True):
    """A parsed lesson. ``version`` is the sha256 of the file's bytes, so any edit changes it."""

    id: str
    title: str
    summary: str
    order: int
    estimated_minutes: int
    objectives: list[str] = []
    version: str
    source_file: str
    blocks: list[Block]
    activities: list[Activity]
    pupil_view: bool = False
    spec: list[str] = []
    """Specification points the lesson covers, from its manifest entry (specpoints.py)."""

    def activity(self, activity_id: str) -> Activity:
        """The activity with this id; KeyError when the lesson has none."""
        for activity in self.activities:
            if activity.id == activity_id:
                return activity
        raise KeyError(activity_id)

    def for_pupil(self) -> Lesson:
        """A copy without teacher-only fields: model and wrong answers, correct options, mark schemes."""
        return msgspec.structs.replace(
            self, activities=[_redact(activity) for activity in self.activities], pupil_view=True
        )

    def to_summary(self) -> LessonSummary:
        return LessonSummary(
            id=self.id,
            title=self.title,
            summary=self.summary,
            order=self.order,
            estimated_minutes=self.estimated_minutes,
            version=self.version,
            activities=[
                ActivitySummary(id=a.id, kind=a.kind, title=a.title, max_score=a.max_score)
                for a in self.activities
            ],
        )


class ManifestEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One line of ``manifest.json``'s ``lessons`` list."""

    id: str
    file: str
    spec: list[str] = []


class LessonSet(msgspec.Struct, kw_only=True):
    """Every lesson of a manifest, in manifest order. ``version`` changes when any file changes."""

    title: str
    version: str
    lessons: list[Lesson]

    def get(self, lesson_id: str) -> Lesson | None:
        for lesson in self.lessons:
            if lesson.id == lesson_id:
                return lesson
        return None

    def lesson(self, lesson_id: str) -> Lesson:
        """The lesson with this id; KeyError when there is none."""
        found = self.get(lesson_id)
        if found is None:
            raise KeyError(lesson_id)
        return found

    def summary(self) -> ManifestSummary:
        return ManifestSummary(
            title=self.title, version=self.version, lessons=[lesson.to_summary() for lesson in self.lessons]
        )


def _redact(activity: Activity) -> Activity:
    if isinstance(activity, CodeActivity):
        tests = [CodeTest(name=test.name, hidden=True) if test.hidden else test for test in activity.tests]
        return msgspec.structs.replace(activity, model_answer=None, wrong_answers=[], tests=tests)
    if isinstance(activity, ChoiceActivity):
        return msgspec.structs.replace(activity, correct=None)
    if isinstance(activity, ParsonsActivity | GapsActivity | PredictActivity | TraceActivity):
        return redact_puzzle(activity)
    return msgspec.structs.replace(activity, mark_scheme=None)
