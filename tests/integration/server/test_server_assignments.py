"""Assignments: a teacher sets a lesson (or chosen activities) for a class with a due time, through the
sync push as a laptop would (offline too); pupils see what is due and the server's receipt of their
work; the teacher sees who is on time, late or missing; the markbook exports are formula-safe.

On PostgreSQL; the flows that read submission times and build the exports also on the embedded SQLite
default (its times compare as text).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from server_helpers import CHOICE, CODE, LESSON, TEXT, bearer, login, mark_op, push, save_op

BOTH_BACKENDS = pytest.mark.parametrize("settings", ["postgresql", "sqlite"], indirect=True)


@pytest.fixture
def settings(request, make_settings, tmp_path):  # type: ignore[no-untyped-def]
    from server.db import migrate

    if getattr(request, "param", "postgresql") == "postgresql":
        return make_settings()
    settings = make_settings(POST16_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}")
    migrate.upgrade(settings)
    return settings


def iso(moment: datetime) -> str:
    return moment.isoformat()


def assign_op(
    assignment_id: uuid.UUID,
    class_id: int,
    due_at: datetime | str,
    *,
    lesson: str = LESSON,
    activities: list[str] | None = None,
    title: str = "",
    removed: bool = False,
    client_time: datetime | None = None,
    op_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "assignment_id": str(assignment_id),
        "class_id": class_id,
        "due_at": due_at if isinstance(due_at, str) else iso(due_at),
        "title": title,
        "removed": removed,
    }
    if activities is not None:
        payload["activity_ids"] = activities
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "kind": "assignment.set",
        "lesson_id": lesson,
        "payload": payload,
        "client_time": iso(client_time or datetime.now(UTC)),
    }


def one_result(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return result


@pytest.fixture
def school(client, users):  # type: ignore[no-untyped-def]
    """A class 12A (teacher `teach`, pupils alice and bob) and another teacher's class 12B (carol)."""
    alice, bob, carol = users.add("alice"), users.add("bob"), users.add("carol")
    class_a = users.enrol("12A", users.add("teach", "teacher"), [alice, bob])
    class_b = users.enrol("12B", users.add("other", "teacher"), [carol])
    users.add("boss", "admin")
    return {"alice": alice, "bob": bob, "carol": carol, "12A": class_a, "12B": class_b}


@BOTH_BACKENDS
def test_a_pupil_sees_work_set_offline_with_its_due_time_and_the_servers_receipt(client, school):
    teacher, alice = login(client, "teach"), login(client, "alice")
    due = datetime.now(UTC) + timedelta(days=2)
    assignment = uuid.uuid4()
    # Set on a laptop that was offline an hour ago: the client time is old, the server takes it.
    offline_op = assign_op(
        assignment,
        school["12A"],
        due,
        activities=[CODE, CHOICE],
        title="Homework 1",
        client_time=datetime.now(UTC) - timedelta(hours=1),
    )
    assert one_result(push(client, teacher, [offline_op]))["outcome"] == "applied"
    saved = one_result(push(client, alice, [save_op({"code": "print(1)"}, activity=CODE)]))

    response = client.get("/api/assignments", headers=bearer(alice))
    assert response.status_code == 200, response.text
    [mine] = response.json()
    assert mine["assignment"]["title"] == "Homework 1"
    assert mine["assignment"]["class_name"] == "12A"
    assert datetime.fromisoformat(mine["assignment"]["due_at"]) == due
    assert mine["overdue"] is False
    work = {piece["activity_id"]: piece for piece in mine["work"]}
    assert work[CODE]["status"] == "on_time"
    assert work[CODE]["received_at"] == saved["received_at"], "the receipt is the server's own time"
    assert work[CHOICE]["status"] == "missing"
    assert [
        a["assignment"]["id"]
        for a in client.get("/api/assignments", headers=bearer(login(client, "carol"))).json()
    ] == []


@BOTH_BACKENDS
def test_work_that_reached_the_server_after_the_due_time_is_late_and_missing_work_overdue(client, school):
    teacher = login(client, "teach")
    alice, bob = login(client, "alice"), login(client, "bob")
    before_save = datetime.now(UTC)
    push(client, alice, [save_op({"code": "print(2)"}, activity=CODE)])
    assignment = uuid.uuid4()
    due = before_save - timedelta(minutes=5)
    assert (
        one_result(push(client, teacher, [assign_op(assignment, school["12A"], due, activities=[CODE])]))[
            "outcome"
        ]
        == "applied"
    )

    [alice_view] = client.get("/api/assignments", headers=bearer(alice)).json()
    assert alice_view["work"][0]["status"] == "late"
    assert alice_view["overdue"] is False
    [bob_view] = client.get("/api/assignments", headers=bearer(bob)).json()
    assert bob_view["work"][0]["status"] == "missing"
    assert bob_view["overdue"] is True

    progress = client.get(f"/api/teacher/assignments/{assignment}", headers=bearer(teacher))
    assert progress.status_code == 200, progress.text
    rows = {row["pupil"]["username"]: row for row in progress.json()["pupils"]}
    assert (rows["alice"]["on_time"], rows["alice"]["late"], rows["alice"]["missing"]) == (0, 1, 0)
    assert (rows["bob"]["on_time"], rows["bob"]["late"], rows["bob"]["missing"]) == (0, 0, 1)


def test_the_teachers_view_counts_on_time_work_and_marks_so_far(client, school):
    teacher, alice = login(client, "teach"), login(client, "alice")
    assignment = uuid.uuid4()
    push(client, teacher, [assign_op(assignment, school["12A"], datetime.now(UTC) + timedelta(days=1))])
    push(client, alice, [save_op({"text": "because input() gives a str"}, activity=TEXT)])
    push(client, teacher, [mark_op(school["alice"], 2, max_score=2, activity=TEXT)])

    progress = client.get(f"/api/teacher/assignments/{assignment}", headers=bearer(teacher)).json()
    assert progress["assignment"]["whole_lesson"] is True
    assert {TEXT, CODE} <= set(progress["assignment"]["activity_ids"])
    rows = {row["pupil"]["username"]: row for row in progress["pupils"]}
    assert rows["alice"]["on_time"] == 1
    assert rows["alice"]["score"] == 2
    assert rows["alice"]["max_score"] > 2, "out of the whole lesson's marks"
    assert rows["bob"]["missing"] == len(progress["assignment"]["activity_ids"])


@BOTH_BACKENDS
def test_a_replayed_change_is_a_duplicate_and_an_older_one_does_not_win(client, school):
    teacher = login(client, "teach")
    assignment = uuid.uuid4()
    now = datetime.now(UTC)
    newer = assign_op(assignment, school["12A"], now + timedelta(days=3), title="newer", client_time=now)
    assert one_result(push(client, teacher, [newer]))["outcome"] == "applied"
    assert one_result(push(client, teacher, [newer]))["outcome"] == "duplicate"
    # Edited earlier on another laptop that was offline: it arrives late, is recorded, and loses.
    older = assign_op(
        assignment,
        school["12A"],
        now + timedelta(days=1),
        title="older",
        client_time=now - timedelta(hours=2),
    )
    assert one_result(push(client, teacher, [older]))["outcome"] == "applied"
    [listed] = client.get(f"/api/teacher/classes/{school['12A']}/assignments", headers=bearer(teacher)).json()
    assert listed["title"] == "newer"
    assert datetime.fromisoformat(listed["due_at"]) == now + timedelta(days=3)


def test_a_withdrawn_assignment_leaves_the_pupils_list_and_stays_in_the_teachers(client, school):
    teacher, alice = login(client, "teach"), login(client, "alice")
    assignment, due = uuid.uuid4(), datetime.now(UTC) + timedelta(days=1)
    push(client, teacher, [assign_op(assignment, school["12A"], due)])
    assert len(client.get("/api/assignments", headers=bearer(alice)).json()) == 1
    push(client, teacher, [assign_op(assignment, school["12A"], due, removed=True)])
    assert client.get("/api/assignments", headers=bearer(alice)).json() == []
    [listed] = client.get(f"/api/teacher/classes/{school['12A']}/assignments", headers=bearer(teacher)).json()
    assert listed["removed"] is True


@pytest.mark.parametrize(
    ("who", "target_class"),
    [("other", "12A"), ("alice", "12A"), ("teach", "12B")],
)
def test_only_the_classes_teacher_sets_its_work(client, school, who, target_class):
    caller = login(client, who)
    op = assign_op(uuid.uuid4(), school[target_class], datetime.now(UTC) + timedelta(days=1))
    result = one_result(push(client, caller, [op]))
    assert (result["outcome"], result["code"]) == ("rejected", "forbidden")
    assert client.get("/api/assignments", headers=bearer(login(client, "alice"))).json() == []


def test_another_teachers_class_and_assignment_answer_like_nothing_there(client, school):
    teacher, other = login(client, "teach"), login(client, "other")
    assignment = uuid.uuid4()
    push(client, teacher, [assign_op(assignment, school["12A"], datetime.now(UTC) + timedelta(days=1))])
    for path in (
        f"/api/teacher/assignments/{assignment}",
        f"/api/teacher/assignments/{assignment}/marks.csv",
        f"/api/teacher/classes/{school['12A']}/assignments",
        f"/api/teacher/classes/{school['12A']}/marks.csv",
        f"/api/teacher/assignments/{uuid.uuid4()}",
    ):
        response = client.get(path, headers=bearer(other))
        assert response.status_code == 404, (path, response.text)
    pupil = client.get(f"/api/teacher/assignments/{assignment}", headers=bearer(login(client, "alice")))
    assert pupil.status_code == 403
    # An assignment id reused for another class is refused, not moved.
    taken = one_result(push(client, other, [assign_op(assignment, school["12B"], datetime.now(UTC))]))
    assert (taken["outcome"], taken["code"]) == ("rejected", "conflict")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lesson": "no-such-lesson"}, "lesson_id"),
        ({"activities": ["no-such-activity"]}, "payload.activity_ids"),
        ({"activities": [CODE, CODE]}, "payload.activity_ids"),
        ({"due_at": "2026-12-01T09:00:00"}, "due_at"),
        ({"due_at": "next tuesday"}, "due_at"),
    ],
)
def test_a_bad_assignment_is_refused_naming_the_field_and_changes_nothing(client, school, change, field):
    teacher = login(client, "teach")
    op = assign_op(
        uuid.uuid4(),
        school["12A"],
        change.get("due_at", datetime.now(UTC) + timedelta(days=1)),
        lesson=change.get("lesson", LESSON),
        activities=change.get("activities"),
    )
    result = one_result(push(client, teacher, [op]))
    assert result["outcome"] == "rejected"
    assert field in result["reason"], result
    assert (
        client.get(f"/api/teacher/classes/{school['12A']}/assignments", headers=bearer(teacher)).json() == []
    )
    assert one_result(push(client, teacher, [op]))["reason"] == result["reason"], (
        "a replay gets the same answer"
    )


def test_an_answer_without_its_activity_is_refused_by_itself(client, school):
    alice = login(client, "alice")
    nameless = save_op({"code": "x = 1"})
    del nameless["activity_id"]
    response = push(client, alice, [nameless, save_op({"code": "x = 2"})])
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert (first["outcome"], first["code"]) == ("rejected", "validation_error")
    assert "activity_id" in first["reason"]
    assert second["outcome"] == "applied"


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


@BOTH_BACKENDS
def test_markbook_exports_carry_marks_and_are_formula_safe(client, users, school):
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from server.db.engine import make_sync_engine
    from server.db.models import User

    engine = make_sync_engine(users.settings)
    with Session(engine) as session:
        session.execute(update(User).where(User.id == school["alice"]).values(display_name="=HYPERLINK(1)"))
        session.commit()
    engine.dispose()
    teacher, alice = login(client, "teach"), login(client, "alice")
    assignment = uuid.uuid4()
    push(
        client,
        teacher,
        [assign_op(assignment, school["12A"], datetime.now(UTC) + timedelta(days=1), activities=[TEXT])],
    )
    push(client, alice, [save_op({"text": "an answer"}, activity=TEXT)])
    push(client, teacher, [mark_op(school["alice"], 1.5, max_score=2, activity=TEXT)])

    header, *pupils = rows_of(
        client.get(f"/api/teacher/assignments/{assignment}/marks.csv", headers=bearer(teacher))
    )
    assert header[:7] == ["username", "display_name", "on_time", "late", "missing", "score", "max_score"]
    assert header[7:] == [f"{TEXT} score", f"{TEXT} status", f"{TEXT} received_at"]
    alice_row = next(row for row in pupils if row[0] == "alice")
    assert alice_row[1] == "'=HYPERLINK(1)"
    assert (alice_row[5], alice_row[7], alice_row[8]) == ("1.5", "1.5", "on_time")

    header, *pupils = rows_of(
        client.get(f"/api/teacher/classes/{school['12A']}/marks.csv", headers=bearer(teacher))
    )
    column = header.index(f"{LESSON}/{TEXT}")
    alice_row = next(row for row in pupils if row[0] == "alice")
    assert alice_row[1] == "'=HYPERLINK(1)"
    assert alice_row[column] == "1.5"
    assert (alice_row[2], alice_row[3]) == ("1.5", "2")
    assert {row[0] for row in pupils} == {"alice", "bob"}


def test_admins_see_every_assignment_and_teachers_may_not_list_them_all(client, school):
    push(client, login(client, "teach"), [assign_op(uuid.uuid4(), school["12A"], datetime.now(UTC))])
    push(client, login(client, "other"), [assign_op(uuid.uuid4(), school["12B"], datetime.now(UTC))])
    listed = client.get("/api/admin/assignments", headers=bearer(login(client, "boss")))
    assert listed.status_code == 200, listed.text
    assert sorted(a["class_name"] for a in listed.json()) == ["12A", "12B"]
    assert client.get("/api/admin/assignments", headers=bearer(login(client, "teach"))).status_code == 403
