"""Replays come after authorisation: an operation id replayed by someone who may not touch its target
(a teacher against a pupil of another class, a pupil against another pupil's answer, anyone with
another account's op id) learns nothing about that target and changes nothing.

Every "answered before" path is covered: a mark through its endpoint and through a push, a save through
its endpoint and through a push (the PostgreSQL one-statement fast path, which the in-process app and the
real server both use). Checks carry no op id, so they have no replay to abuse."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from server_helpers import CODE, LESSON, bearer, login, mark_op, push, save_op, sql

STATE = f"/api/activity/state/{LESSON}/{CODE}"
SECRET_FEEDBACK = "private feedback for bob only"


@dataclass
class School:
    alice: int  # pupil in 12A (teach-a)
    bob: int  # pupil in 12B (teach-b)
    tokens: dict[str, str]


def marks_of(client, token: str) -> list[tuple[float, str]]:  # type: ignore[no-untyped-def]
    return [(m["score"], m["feedback"]) for m in client.get("/api/marks", headers=bearer(token)).json()]


def mark_url(pupil_id: int) -> str:
    return f"/api/marks/{pupil_id}/{LESSON}/{CODE}"


def seed_school(client, users) -> School:  # type: ignore[no-untyped-def]
    alice = users.add("alice", "pupil")
    bob = users.add("bob", "pupil")
    teach_a = users.add("teach-a", "teacher")
    teach_b = users.add("teach-b", "teacher")
    users.enrol("12A", teach_a, [alice])
    users.enrol("12B", teach_b, [bob])
    tokens = {name: login(client, name) for name in ("alice", "bob", "teach-a", "teach-b")}
    for name in ("alice", "bob"):
        saved = client.post(STATE, headers=bearer(tokens[name]), json={"state": {"code": f"print('{name}')"}})
        assert saved.status_code == 200, saved.text
    marked = client.post(
        mark_url(bob),
        headers=bearer(tokens["teach-b"]),
        json={"score": 1, "max_score": 3, "feedback": SECRET_FEEDBACK},
    )
    assert marked.status_code == 200, marked.text
    return School(alice, bob, tokens)


@pytest.fixture
def school(client, users) -> School:  # type: ignore[no-untyped-def]
    return seed_school(client, users)


def teacher_a_marks_alice(client, school: School) -> str:  # type: ignore[no-untyped-def]
    op_id = str(uuid.uuid4())
    response = client.post(
        mark_url(school.alice),
        headers=bearer(school.tokens["teach-a"]),
        json={"score": 2, "max_score": 3, "feedback": "well done", "op_id": op_id},
    )
    assert response.status_code == 200, response.text
    return op_id


def test_teacher_replaying_own_mark_op_against_another_class_pupil_reads_nothing(client, school):
    op_id = teacher_a_marks_alice(client, school)
    replay = client.post(
        mark_url(school.bob),
        headers=bearer(school.tokens["teach-a"]),
        json={"score": 2, "max_score": 3, "feedback": "well done", "op_id": op_id},
    )
    assert replay.status_code == 404
    assert SECRET_FEEDBACK not in replay.text
    assert marks_of(client, school.tokens["bob"]) == [(1, SECRET_FEEDBACK)]


def test_teacher_replay_against_a_pupil_they_may_not_mark_looks_like_a_pupil_who_does_not_exist(
    client, school
):
    op_id = teacher_a_marks_alice(client, school)
    body = {"score": 2, "max_score": 3, "op_id": op_id}
    hidden = client.post(mark_url(school.bob), headers=bearer(school.tokens["teach-a"]), json=body)
    missing = client.post(mark_url(999_999), headers=bearer(school.tokens["teach-a"]), json=body)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]


def test_teacher_replaying_own_mark_op_in_a_push_against_another_class_pupil_changes_nothing(client, school):
    op_id = teacher_a_marks_alice(client, school)
    response = push(
        client, school.tokens["teach-a"], [mark_op(school.bob, 0, feedback="x", op_id=uuid.UUID(op_id))]
    )
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert result["code"] == "forbidden"
    assert SECRET_FEEDBACK not in response.text
    assert marks_of(client, school.tokens["bob"]) == [(1, SECRET_FEEDBACK)]


def test_refused_replay_leaves_the_original_operation_answered_as_before(client, school, pg_url):
    op_id = teacher_a_marks_alice(client, school)
    client.post(
        mark_url(school.bob),
        headers=bearer(school.tokens["teach-a"]),
        json={"score": 0, "max_score": 3, "op_id": op_id},
    )
    assert sql(pg_url, "SELECT outcome FROM sync_operations WHERE op_id = %s", op_id) == [("applied",)]
    again = client.post(
        mark_url(school.alice),
        headers=bearer(school.tokens["teach-a"]),
        json={"score": 2, "max_score": 3, "feedback": "well done", "op_id": op_id},
    )
    assert again.status_code == 200
    assert again.json()["feedback"] == "well done"


def test_teacher_replaying_another_teachers_mark_op_on_own_pupil_gets_a_conflict_and_changes_nothing(
    client, school, pg_url
):
    [(bobs_mark_op,)] = sql(pg_url, "SELECT op_id FROM marks WHERE pupil_id = %s", school.bob)
    replay = client.post(
        mark_url(school.alice),
        headers=bearer(school.tokens["teach-a"]),
        json={"score": 3, "max_score": 3, "op_id": str(bobs_mark_op)},
    )
    assert replay.status_code == 409
    assert SECRET_FEEDBACK not in replay.text
    assert marks_of(client, school.tokens["alice"]) == []
    assert marks_of(client, school.tokens["bob"]) == [(1, SECRET_FEEDBACK)]


def test_pupil_replaying_a_teachers_mark_op_as_a_mark_on_themselves_is_refused(client, school, pg_url):
    [(bobs_mark_op,)] = sql(pg_url, "SELECT op_id FROM marks WHERE pupil_id = %s", school.bob)
    response = push(client, school.tokens["bob"], [mark_op(school.bob, 3, op_id=bobs_mark_op)])
    [result] = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert result["code"] == "forbidden"
    assert marks_of(client, school.tokens["bob"]) == [(1, SECRET_FEEDBACK)]


def alices_save_op(pg_url: str, alice: int) -> str:
    [(op_id,)] = sql(pg_url, "SELECT op_id FROM activity_revisions WHERE pupil_id = %s", alice)
    return str(op_id)


def test_pupil_replaying_another_pupils_save_op_through_the_endpoint_learns_nothing(client, school, pg_url):
    op_id = alices_save_op(pg_url, school.alice)
    replay = client.post(
        STATE, headers=bearer(school.tokens["bob"]), json={"state": {"code": "mine"}, "op_id": op_id}
    )
    assert replay.status_code == 409
    assert "alice" not in replay.text
    assert client.get(STATE, headers=bearer(school.tokens["alice"])).json()["state"] == {
        "code": "print('alice')"
    }
    assert client.get(STATE, headers=bearer(school.tokens["bob"])).json()["state"] == {"code": "print('bob')"}


def test_pupil_replaying_another_pupils_save_op_in_a_push_learns_nothing(client, school, pg_url):
    op_id = alices_save_op(pg_url, school.alice)
    response = push(client, school.tokens["bob"], [save_op({"code": "mine"}, op_id=op_id)])
    [result] = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert result["code"] == "conflict"
    assert "revision" not in result
    assert "alice" not in response.text
    alice_revisions = client.get(
        f"/api/activity/revisions/{LESSON}/{CODE}", headers=bearer(school.tokens["alice"])
    )
    assert [r["state"] for r in alice_revisions.json()["revisions"]] == [{"code": "print('alice')"}]


def test_teacher_replaying_a_pupils_save_op_is_refused_without_its_revision(client, school, pg_url):
    op_id = alices_save_op(pg_url, school.alice)
    response = push(client, school.tokens["teach-b"], [save_op({"code": "x"}, op_id=op_id)])
    [result] = response.json()["results"]
    assert result["outcome"] == "rejected"
    assert "revision" not in result


@pytest.mark.slow
def test_replayed_mark_op_against_another_class_reveals_nothing_on_a_real_server(make_server, pg_url, users):
    server = make_server(pg_url)
    with httpx.Client(base_url=server.url) as http:
        school = seed_school(http, users)
        op_id = teacher_a_marks_alice(http, school)
        replay = http.post(
            mark_url(school.bob),
            headers=bearer(school.tokens["teach-a"]),
            json={"score": 2, "max_score": 3, "op_id": op_id},
        )
        assert replay.status_code == 404
        assert SECRET_FEEDBACK not in replay.text
        pushed = push(http, school.tokens["teach-a"], [mark_op(school.bob, 0, op_id=uuid.UUID(op_id))])
        assert pushed.json()["results"][0]["outcome"] == "rejected"
        assert SECRET_FEEDBACK not in pushed.text
        assert marks_of(http, school.tokens["bob"]) == [(1, SECRET_FEEDBACK)]
