"""The laptop's assignment lists without Qt or a server: a teacher's changes queued in a real local store
shown on top of the server's list, and the pupil's due list with work saved here but not yet received."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.core.assignments import (
    AssignmentInputError,
    assignment_change,
    class_assignments,
    due_list,
    due_words,
)
from desktop.core.store import Store
from shared.wire.assignments import AssignedWork, Assignment, PupilAssignment

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def server_assignment(**fields: object) -> Assignment:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "class_id": 7,
        "class_name": "12C",
        "lesson_id": "selection",
        "lesson_title": "Selection",
        "activity_ids": ["a", "b"],
        "whole_lesson": False,
        "title": "Homework",
        "due_at": NOW + timedelta(days=2),
        "set_by": "teacher",
        "updated_at": NOW,
        "removed": False,
    }
    values.update(fields)
    return Assignment(**values)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "local.db")
    yield opened
    opened.close()


def test_a_change_queued_here_shows_on_top_of_the_servers_list_and_the_newest_wins(store: Store) -> None:
    known = server_assignment()
    edited = assignment_change(
        class_id=7, due_at=NOW + timedelta(days=5), activity_ids=["a"], title="Moved", assignment_id=known.id
    )
    store.outbox.queue_assignment("selection", edited)
    withdrawn = assignment_change(
        class_id=7, due_at=NOW + timedelta(days=5), title="Moved", assignment_id=known.id, removed=True
    )
    store.outbox.queue_assignment("selection", withdrawn)
    other_class = assignment_change(class_id=8, due_at=NOW + timedelta(days=1), title="Not this class")
    store.outbox.queue_assignment("selection", other_class)

    items = class_assignments([known], store.outbox.queued_assignments(), 7, {"selection": "Selection"})

    assert len(items) == 1
    assert items[0].id == known.id
    assert items[0].removed
    assert items[0].pending
    assert items[0].label(NOW) == "Moved — withdrawn · ↻ waiting to sync"


def test_the_queued_operation_names_no_activity_on_the_wire(store: Store) -> None:
    store.outbox.queue_assignment("selection", assignment_change(class_id=7, due_at=NOW, title="Set"))
    [operation] = store.outbox.next_batch(10)
    assert operation.kind == "assignment.set"
    assert operation.activity_id is None
    assert operation.payload["class_id"] == 7


def test_a_bad_assignment_is_refused_naming_the_field_before_it_is_queued() -> None:
    with pytest.raises(AssignmentInputError, match=r"title"):
        assignment_change(class_id=7, due_at=NOW, title="x" * 201)
    with pytest.raises(AssignmentInputError, match="time zone"):
        assignment_change(class_id=7, due_at=datetime(2026, 12, 1, 9, 0), title="naive")


def test_work_saved_here_is_waiting_never_handed_in_and_overdue_work_comes_first() -> None:
    open_work = PupilAssignment(
        assignment=server_assignment(title="Soon"),
        work=[
            AssignedWork(activity_id="a", status="missing"),
            AssignedWork(activity_id="b", status="missing"),
        ],
        overdue=False,
    )
    late = server_assignment(title="Past", due_at=NOW - timedelta(hours=3))
    overdue = PupilAssignment(
        assignment=late, work=[AssignedWork(activity_id="a", status="missing")], overdue=True
    )
    received = NOW - timedelta(days=1)
    done = PupilAssignment(
        assignment=server_assignment(title="Done", due_at=NOW - timedelta(days=3)),
        work=[AssignedWork(activity_id="a", status="on_time", received_at=received, score=2, max_score=2)],
        overdue=False,
    )
    items = due_list([done, open_work, overdue], {("selection", "b")}, {("selection", "a"): "First"}, NOW)

    assert [d.assignment.title for d in items] == ["Past", "Soon", "Done"]
    assert items[0].overdue
    assert items[0].summary(NOW).startswith("Overdue — was due today at")
    soon = items[1]
    assert [piece.describe() for piece in soon.work] == [
        "Not handed in yet",
        "Saved on this computer, not yet received by the school: it is sent when the network is back",
    ]
    assert soon.handed_in == 0  # saved here is not handed in: only the server's receipt counts
    assert "1 waiting to be sent" in soon.summary(NOW)
    assert items[2].complete
    assert items[2].work[0].describe().startswith("Handed in: received by the school")
    assert items[2].work[0].mark_words() == "2 / 2"


def test_due_times_read_as_people_say_them() -> None:
    assert due_words(NOW + timedelta(days=1), NOW).startswith("due tomorrow at")
    assert due_words(NOW - timedelta(minutes=5), NOW).startswith("was due today at")
    assert " 2026" in due_words(NOW + timedelta(days=30), NOW)
