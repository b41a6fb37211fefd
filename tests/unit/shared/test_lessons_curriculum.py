"""The unit against the A-level specifications: every lesson names what it covers, and
docs/curriculum.md is exactly what ``post16-lessons curriculum lessons`` prints from the manifest."""

from __future__ import annotations

from lesson_samples import LESSONS_DIR

from shared.lessons import CodeActivity, load_manifest
from shared.lessons.cli import main

CURRICULUM_PAGE = LESSONS_DIR.parent / "docs" / "curriculum.md"
# What the unit must reach to cover the programming content of AQA 7517 and OCR H446 (issue 19).
MIN_LESSONS = 20
MIN_ACTIVITIES = 100


def test_the_unit_is_big_enough_to_cover_the_specifications():
    lessons = load_manifest(LESSONS_DIR).lessons

    assert len(lessons) >= MIN_LESSONS
    assert sum(len(lesson.activities) for lesson in lessons) >= MIN_ACTIVITIES


def test_every_lesson_names_the_specification_points_it_covers():
    assert [lesson.id for lesson in load_manifest(LESSONS_DIR).lessons if not lesson.spec] == []


def test_both_boards_are_covered():
    points = {point for lesson in load_manifest(LESSONS_DIR).lessons for point in lesson.spec}

    assert {point.split()[0] for point in points} == {"AQA", "OCR"}


def test_every_auto_marked_code_activity_has_a_hidden_test():
    unhidden = [
        f"{lesson.id}/{activity.id}"
        for lesson in load_manifest(LESSONS_DIR).lessons
        for activity in lesson.activities
        if isinstance(activity, CodeActivity) and not any(test.hidden for test in activity.tests)
    ]

    assert unhidden == []


def test_the_committed_curriculum_page_is_what_the_command_prints(capsys):
    assert main(["curriculum", str(LESSONS_DIR)]) == 0

    printed = capsys.readouterr().out
    assert CURRICULUM_PAGE.read_text(encoding="utf-8") == printed, (
        "docs/curriculum.md is stale: run `post16-lessons curriculum lessons > docs/curriculum.md`"
    )
