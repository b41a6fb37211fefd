"""The real unit in lessons/: it validates, and every auto-marked activity's tests mean something.

Code runs through the ``passes`` fixture (conftest), which uses a local python3 here and the real
sandbox in the sandbox suite.
"""

from __future__ import annotations

from collections import Counter

import pytest
from lesson_samples import LESSONS_DIR

from shared.lessons import CodeActivity, LessonFormatError, load_manifest, validate_lessons

MIN_LESSONS = 10
MIN_ACTIVITIES = 3


def _code_activities() -> list[tuple[str, CodeActivity]]:
    try:
        lessons = load_manifest(LESSONS_DIR)
    except LessonFormatError:
        return []  # test_the_unit_validates reports why
    return [
        (f"{lesson.id}/{activity.id}", activity)
        for lesson in lessons.lessons
        for activity in lesson.activities
        if isinstance(activity, CodeActivity) and activity.tests
    ]


CODE_ACTIVITIES = _code_activities()
CODE_IDS = [name for name, _ in CODE_ACTIVITIES]


def test_the_unit_validates():
    assert validate_lessons(LESSONS_DIR) == []


def test_the_unit_has_at_least_ten_lessons():
    assert len(load_manifest(LESSONS_DIR).lessons) >= MIN_LESSONS


def test_every_lesson_mixes_at_least_three_activities_of_every_kind():
    for lesson in load_manifest(LESSONS_DIR).lessons:
        kinds = Counter(activity.kind for activity in lesson.activities)
        assert sum(kinds.values()) >= MIN_ACTIVITIES, lesson.id
        assert set(kinds) >= {"code", "choice", "text"}, lesson.id


def test_every_lesson_has_a_worked_python_example():
    for lesson in load_manifest(LESSONS_DIR).lessons:
        text = "\n".join(getattr(block, "markdown", "") for block in lesson.blocks)
        assert "```python" in text, lesson.id


@pytest.mark.parametrize(("name", "activity"), CODE_ACTIVITIES, ids=CODE_IDS)
def test_model_answer_passes_every_test(name, activity, passes):
    failed = [test.name for test in activity.tests if not passes(activity.model_answer, test)]

    assert failed == [], name


@pytest.mark.parametrize(("name", "activity"), CODE_ACTIVITIES, ids=CODE_IDS)
def test_starter_code_fails_a_test(name, activity, passes):
    assert not all(passes(activity.starter, test) for test in activity.tests), name


@pytest.mark.parametrize(("name", "activity"), CODE_ACTIVITIES, ids=CODE_IDS)
def test_known_wrong_answers_fail_a_test(name, activity, passes):
    assert activity.wrong_answers, f"{name} has no wrong_answers to check its tests against"
    for wrong in activity.wrong_answers:
        assert not all(passes(wrong, test) for test in activity.tests), wrong
