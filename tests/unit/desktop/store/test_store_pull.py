"""`store.pull`: pulled changes applied with the cursor, the conflict rule's winner shown, versions kept."""

from __future__ import annotations

from helpers_store import revision, teacher_mark

from desktop.core.store import Store
from shared.wire.sync import LessonEvent, MarkEvent


def test_a_page_of_changes_moves_the_cursor_with_it(store: Store) -> None:
    applied = store.pull.apply([revision(1, {"text": "From the other laptop"})], "cursor-1")
    assert store.pull.cursor() == "cursor-1"
    assert applied.answers_replaced == [("variables", "text-1")]
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert (answer.state, answer.revision) == ({"text": "From the other laptop"}, 1)


def test_a_queued_local_change_is_not_replaced_by_a_pulled_version(store: Store) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "Mine, not sent yet"})
    applied = store.pull.apply([revision(1, {"text": "Older, from elsewhere"})], "cursor-1")
    assert applied.answers_replaced == []
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "Mine, not sent yet"}


def test_versions_are_kept_newest_first_and_one_is_current(store: Store) -> None:
    store.pull.apply([revision(1, {"text": "one"}), revision(2, {"text": "two"})], "cursor-2")
    versions = store.pull.revisions(3, "variables", "text-1")
    assert [(v.revision, v.current) for v in versions] == [(2, True), (1, False)]
    current = store.pull.current_revision(3, "variables", "text-1")
    assert current is not None
    assert current.state == {"text": "two"}
    assert [v.revision for v in store.pull.pupil_revisions(3)] == [2, 1]


def test_marks_and_lesson_events_are_reported(store: Store, make_lesson) -> None:
    lesson = make_lesson()
    store.lessons.save_index([lesson.to_summary()])
    store.lessons.save(lesson)
    mark = teacher_mark()
    applied = store.pull.apply(
        [MarkEvent(cursor="c1", mark=mark), LessonEvent(cursor="c2", lesson_id="variables", version="v2")],
        "c2",
    )
    assert (applied.new_marks, applied.lessons_changed) == ([mark], ["variables"])
    assert store.lessons.stale() == ["variables"]
