"""Auto-marking rules shared by the server, the desktop app and the sandbox.

Choice activities are marked from their answer key. Code activities are marked by running each test's
probe steps beside the pupil's code somewhere safe (the sandbox) and judging the plain evidence that
comes back where the pupil's code cannot reach (:mod:`shared.lessons.checks`); :func:`mark_code` turns
the passed tests into a score.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.lessons.model import ChoiceActivity, CodeActivity

__all__ = [
    "mark_choice",
    "mark_code",
    "normalise_output",
]


def normalise_output(text: str) -> str:
    """Output as compared: trailing spaces stripped from each line, trailing blank lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def mark_code(activity: CodeActivity, passed_tests: Iterable[str]) -> float:
    """Score for a code answer: ``max_score`` shared equally between the activity's tests.

    Raises ValueError for an activity without tests: its answers are marked by the teacher.
    """
    if not activity.tests:
        raise ValueError(f"activity `{activity.id}` has no tests: a teacher marks it")
    passed = set(passed_tests)
    count = sum(1 for test in activity.tests if test.name in passed)
    return activity.max_score * count / len(activity.tests)


def mark_choice(activity: ChoiceActivity, selected: Iterable[int]) -> float:
    """Score for a choice answer.

    Single answer: ``max_score`` for the right option, else 0. Multiple answers: one share of
    ``max_score`` per correct option picked, minus one share per wrong option picked, never below 0.
    Raises ValueError for an index out of range or for a pupil's copy (which has no ``correct``).
    """
    if activity.correct is None:
        raise ValueError(f"activity `{activity.id}` has no answer key: mark it with the teacher's copy")
    chosen = set(selected)
    for index in chosen:
        if not 0 <= index < len(activity.options):
            raise ValueError(f"option {index} does not exist in activity `{activity.id}`")
    correct = set(activity.correct)
    if not activity.multiple:
        return activity.max_score if chosen == correct else 0.0
    right = len(chosen & correct)
    wrong = len(chosen - correct)
    return activity.max_score * max(0, right - wrong) / len(correct)
