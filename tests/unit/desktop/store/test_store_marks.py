"""`store.marks`: a teacher's queued mark wins over the server's until sent; the grid's bulk read."""

from __future__ import annotations

from helpers_store import revision, teacher_mark

from desktop.core.store import Store


def test_a_mark_from_the_server_does_not_replace_one_waiting_to_be_sent(store: Store) -> None:
    store.outbox.queue_mark(4, "variables", "text-1", score=1, max_score=2, feedback="Mine")
    store.marks.replace([teacher_mark(pupil_id=4, score=2, feedback="Older")])
    mark = store.marks.get(4, "variables", "text-1")
    assert mark is not None
    assert (mark.score, mark.feedback) == (1, "Mine")


def test_marks_of_one_pupil_or_all(store: Store) -> None:
    store.marks.replace([teacher_mark(pupil_id=3), teacher_mark(pupil_id=4, activity_id="code-1")])
    assert [m.pupil_id for m in store.marks.all(3)] == [3]
    assert sorted(m.pupil_id for m in store.marks.all()) == [3, 4]


def test_class_work_reads_marks_and_answered_activities_in_bulk(store: Store) -> None:
    store.marks.replace([teacher_mark(pupil_id=4)])
    store.outbox.queue_mark(5, "variables", "code-1", score=0, max_score=2, feedback="")
    store.pull.apply([revision(1, {"text": "a"}, pupil_id=4), revision(2, {"text": "b"}, pupil_id=4)], "c2")
    work = store.marks.class_work([4, 5])
    assert {key: local.pending for key, local in work.marks.items()} == {
        (4, "variables", "text-1"): False,
        (5, "variables", "code-1"): True,
    }
    assert work.answered == {(4, "variables", "text-1"): 2}
