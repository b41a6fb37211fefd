"""Object-level access (no IDOR): pupils see only their own work, teachers only their own classes'
pupils, and nobody learns whether an id they may not see exists."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from server_helpers import CODE, LESSON, bearer, login, mark_op, push

STATE = f"/api/activity/state/{LESSON}/{CODE}"
REVISIONS = f"/api/activity/revisions/{LESSON}/{CODE}"


@dataclass
class School:
    alice: int  # pupil in class A
    bob: int  # pupil in class B
    class_a: int
    class_b: int
    tokens: dict[str, dict[str, str]]


@pytest.fixture
def school(client, users) -> School:  # type: ignore[no-untyped-def]
    alice = users.add("alice", "pupil")
    bob = users.add("bob", "pupil")
    teach_a = users.add("teach-a", "teacher")
    teach_b = users.add("teach-b", "teacher")
    users.add("head", "admin")
    class_a = users.enrol("12A", teach_a, [alice])
    class_b = users.enrol("12B", teach_b, [bob])
    tokens = {name: bearer(login(client, name)) for name in ("alice", "bob", "teach-a", "teach-b", "head")}
    for name in ("alice", "bob"):
        saved = client.post(STATE, headers=tokens[name], json={"state": {"code": f"print('{name}')"}})
        assert saved.status_code == 200, saved.text
    return School(alice, bob, class_a, class_b, tokens)


def test_pupil_cannot_read_another_pupils_answer(client, school):
    response = client.get(STATE, headers=school.tokens["bob"], params={"pupil_id": school.alice})
    assert response.status_code == 404
    assert "alice" not in response.text


def test_pupil_cannot_read_another_pupils_revisions(client, school):
    response = client.get(REVISIONS, headers=school.tokens["bob"], params={"pupil_id": school.alice})
    assert response.status_code == 404


def test_asking_for_a_pupil_who_does_not_exist_looks_the_same_as_one_you_may_not_see(client, school):
    hidden = client.get(STATE, headers=school.tokens["bob"], params={"pupil_id": school.alice})
    missing = client.get(STATE, headers=school.tokens["bob"], params={"pupil_id": 999_999})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"]


def test_teacher_reads_answers_of_pupils_in_their_class(client, school):
    response = client.get(STATE, headers=school.tokens["teach-a"], params={"pupil_id": school.alice})
    assert response.status_code == 200
    assert response.json()["state"] == {"code": "print('alice')"}
    revisions = client.get(REVISIONS, headers=school.tokens["teach-a"], params={"pupil_id": school.alice})
    assert [r["state"] for r in revisions.json()["revisions"]] == [{"code": "print('alice')"}]


def test_teacher_cannot_read_answers_of_pupils_in_another_class(client, school):
    response = client.get(STATE, headers=school.tokens["teach-a"], params={"pupil_id": school.bob})
    assert response.status_code == 404
    revisions = client.get(REVISIONS, headers=school.tokens["teach-a"], params={"pupil_id": school.bob})
    assert revisions.status_code == 404


def test_teacher_marks_a_pupil_of_their_class_and_the_pupil_sees_it(client, school):
    response = client.post(
        f"/api/marks/{school.alice}/{LESSON}/{CODE}",
        headers=school.tokens["teach-a"],
        json={"score": 2, "max_score": 3, "feedback": "good"},
    )
    assert response.status_code == 200, response.text
    marks = client.get("/api/marks", headers=school.tokens["alice"]).json()
    assert [(m["score"], m["feedback"]) for m in marks] == [(2, "good")]
    assert client.get("/api/marks", headers=school.tokens["bob"]).json() == []


def test_teacher_cannot_mark_a_pupil_of_another_class(client, school):
    response = client.post(
        f"/api/marks/{school.bob}/{LESSON}/{CODE}",
        headers=school.tokens["teach-a"],
        json={"score": 0, "max_score": 3, "feedback": "sabotage"},
    )
    assert response.status_code == 404
    assert client.get("/api/marks", headers=school.tokens["bob"]).json() == []


def test_teacher_cannot_mark_another_class_through_sync_push(client, school):
    token = school.tokens["teach-a"]["Authorization"].removeprefix("Bearer ")
    response = push(client, token, [mark_op(school.bob, 0, feedback="sabotage")])
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert client.get("/api/marks", headers=school.tokens["bob"]).json() == []


def test_pupil_cannot_mark(client, school):
    response = client.post(
        f"/api/marks/{school.alice}/{LESSON}/{CODE}",
        headers=school.tokens["bob"],
        json={"score": 0, "max_score": 3},
    )
    assert response.status_code in (403, 404)
    assert client.get("/api/marks", headers=school.tokens["alice"]).json() == []


def test_pupil_cannot_mark_their_own_work(client, school):
    response = client.post(
        f"/api/marks/{school.alice}/{LESSON}/{CODE}",
        headers=school.tokens["alice"],
        json={"score": 3, "max_score": 3},
    )
    assert response.status_code in (403, 404)
    token = school.tokens["alice"]["Authorization"].removeprefix("Bearer ")
    [result] = push(client, token, [mark_op(school.alice, 3)]).json()["results"]
    assert result["outcome"] == "rejected"
    assert client.get("/api/marks", headers=school.tokens["alice"]).json() == []


@pytest.mark.parametrize("path", ["/api/teacher/classes", "/api/teacher/classes/{class_a}/progress"])
def test_pupil_cannot_reach_the_teacher_api(client, school, path):
    response = client.get(path.format(class_a=school.class_a), headers=school.tokens["alice"])
    assert response.status_code == 403


def test_teacher_lists_only_their_own_classes(client, school):
    classes = client.get("/api/teacher/classes", headers=school.tokens["teach-a"]).json()
    assert [c["name"] for c in classes] == ["12A"]


def test_teacher_cannot_see_another_teachers_class_progress(client, school):
    response = client.get(f"/api/teacher/classes/{school.class_b}/progress", headers=school.tokens["teach-a"])
    assert response.status_code == 404
    own = client.get(f"/api/teacher/classes/{school.class_a}/progress", headers=school.tokens["teach-a"])
    assert own.status_code == 200
    assert [p["username"] for p in own.json()["pupils"]] == ["alice"]
    assert {cell["pupil_id"] for cell in own.json()["cells"]} == {school.alice}


def test_teacher_cannot_save_answers(client, school):
    response = client.post(STATE, headers=school.tokens["teach-a"], json={"state": {"code": "x"}})
    assert response.status_code == 403


def test_restore_only_touches_the_callers_own_answer(client, school):
    response = client.post(
        f"/api/activity/restore/{LESSON}/{CODE}", headers=school.tokens["teach-a"], json={"revision": 1}
    )
    assert response.status_code in (403, 404)
    alice = client.get(STATE, headers=school.tokens["alice"]).json()
    assert alice["revision"] == 1
    assert alice["state"] == {"code": "print('alice')"}


def test_admin_sees_any_pupils_answer(client, school):
    response = client.get(STATE, headers=school.tokens["head"], params={"pupil_id": school.bob})
    assert response.status_code == 200
