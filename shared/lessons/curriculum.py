"""The unit against the specifications: a Markdown table from specification point to lessons and activities.

``post16-lessons curriculum lessons > docs/curriculum.md`` writes docs/curriculum.md from the manifest's
``spec`` lists (specpoints.py), so the page cannot drift from the lessons: a test compares the two.
"""

from __future__ import annotations

from collections import Counter

from shared.lessons.model import Lesson, LessonSet
from shared.lessons.specpoints import BOARDS, spec_point_key

__all__ = ["curriculum_markdown"]


def curriculum_markdown(lessons: LessonSet) -> str:
    """Every specification point named in the manifest, in board and number order, with its lessons."""
    ordered = sorted(lessons.lessons, key=lambda lesson: lesson.order)
    kinds = Counter(activity.kind for lesson in ordered for activity in lesson.activities)
    detail = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    parts = [
        "# Curriculum: specification points covered by the unit",
        "Generated from `lessons/manifest.json` by "
        "`post16-lessons curriculum lessons > docs/curriculum.md`; do not edit by hand. "
        f"*{lessons.title}*: {len(ordered)} lessons, {kinds.total()} activities ({detail}).",
        "Boards: " + "; ".join(f"**{name}** is {title}" for name, title in BOARDS.items()) + ".",
    ]
    for board in BOARDS:
        points = sorted(
            {point for lesson in ordered for point in lesson.spec if point.startswith(board + " ")},
            key=spec_point_key,
        )
        if not points:
            continue
        rows = [
            f"| {point} | {_lesson_cell(lesson)} | {_activities_cell(lesson)} |"
            for point in points
            for lesson in ordered
            if point in lesson.spec
        ]
        parts.append(
            f"## {BOARDS[board]}\n\n"
            "| specification point | lesson | activities |\n| --- | --- | --- |\n" + "\n".join(rows)
        )
    uncovered = [lesson.id for lesson in ordered if not lesson.spec]
    if uncovered:
        parts.append("Lessons that name no specification point: " + ", ".join(uncovered) + ".")
    return "\n\n".join(parts) + "\n"


def _lesson_cell(lesson: Lesson) -> str:
    return f"{lesson.order}. {_escape(lesson.title)} (`{lesson.id}`)"


def _activities_cell(lesson: Lesson) -> str:
    return "; ".join(f"{_escape(activity.title)} ({activity.kind})" for activity in lesson.activities)


def _escape(text: str) -> str:
    """A pipe would end the table cell."""
    return text.replace("|", "\\|")
