"""`store.lessons`: the index, cached content, stale and removed lessons, archived answers."""

from __future__ import annotations

from desktop.core.store import Store
from shared.lessons.model import Lesson


def test_index_reports_lessons_whose_content_is_missing_or_out_of_date(store: Store, make_lesson) -> None:
    lesson: Lesson = make_lesson()
    assert store.lessons.save_index([lesson.to_summary()]) == ["variables"]
    store.lessons.save(lesson)
    assert store.lessons.save_index([lesson.to_summary()]) == []
    assert store.lessons.save_index([make_lesson(version="v2").to_summary()]) == ["variables"]


def test_a_lesson_left_out_of_the_index_is_removed_not_deleted(store: Store, make_lesson) -> None:
    lesson: Lesson = make_lesson()
    store.lessons.save_index([lesson.to_summary()])
    store.lessons.save(lesson)
    store.lessons.save_index([])
    assert store.lessons.removed("variables")
    assert store.lessons.summaries() == []
    assert store.lessons.get("variables") == lesson


def test_an_activity_a_new_version_drops_keeps_its_answer_as_archived(store: Store, make_lesson) -> None:
    first: Lesson = make_lesson()
    store.lessons.save_index([first.to_summary()])
    store.lessons.save(first)
    store.outbox.save_answer("variables", "text-1", {"text": "Because"})
    second = make_lesson(version="v2")
    second.activities = [a for a in second.activities if a.id != "text-1"]
    store.lessons.save_index([second.to_summary()])
    store.lessons.save(second)

    [archived] = store.lessons.archived_answers()
    assert (archived.activity_id, archived.title, archived.state) == (
        "text-1",
        "Explain",
        {"text": "Because"},
    )
    assert archived.pending
    assert not archived.lesson_removed
    assert set(store.lessons.retired_activities()) == {("variables", "text-1")}
