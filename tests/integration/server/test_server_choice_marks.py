"""Multiple-choice answers are marked by the server the moment they are stored.

The answer key lives only in the server's copy of the lesson (a pupil's laptop never receives it), so
the mark that counts is computed there, as the automatic mark of the revision it marked, and reaches
the pupil by pull. Run on PostgreSQL (the one-statement save path) and on the embedded SQLite default
(the generic path).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from server_helpers import CHOICE, LESSON, TEXT, bearer, login, mark_op, pull_until, push, save_op

MULTIPLE = "valid-identifiers"  # options 0, 2 and 4 are right; max_score 2


@pytest.fixture(params=["postgresql", "sqlite"])
def settings(request, make_settings, tmp_path):  # type: ignore[no-untyped-def]
    """The suite's `client` and `users` fixtures, on each backend in turn."""
    from server.db import migrate

    if request.param == "postgresql":
        return make_settings()
    settings = make_settings(POST16_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}")
    migrate.upgrade(settings)  # as `post16-server serve` does for the embedded database
    return settings


def marks_of(client, token: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    response = client.get("/api/marks", headers=bearer(token))
    assert response.status_code == 200, response.text
    return {mark["activity_id"]: mark for mark in response.json()}


def at(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=minutes)).isoformat()


def test_right_choice_is_marked_full_as_the_mark_of_its_revision(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    [result] = push(client, alice, [save_op({"selected": [1]}, activity=CHOICE)]).json()["results"]
    assert result["outcome"] == "applied"
    mark = marks_of(client, alice)[CHOICE]
    assert (mark["score"], mark["max_score"], mark["source"], mark["revision"]) == (1, 1, "auto", 1)
    assert mark["feedback"].startswith("Right")


def test_a_changed_answer_is_marked_again_and_the_pupil_pulls_the_new_mark(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    push(client, alice, [save_op({"selected": [0]}, activity=CHOICE, client_time=at(1))])
    assert marks_of(client, alice)[CHOICE]["score"] == 0
    _, cursor = pull_until(client, alice, 1, kind="mark")
    response = client.post(
        f"/api/activity/state/{LESSON}/{CHOICE}",
        headers=bearer(alice),
        json={"state": {"selected": [1]}, "client_time": at(2)},
    )
    assert response.status_code in (200, 201), response.text
    items, _ = pull_until(client, alice, 1, kind="mark", cursor=cursor)
    pulled = [item["mark"] for item in items if item["type"] == "mark"]
    assert [(m["activity_id"], m["score"], m["revision"]) for m in pulled] == [(CHOICE, 1, 2)]


def test_feedback_never_names_the_right_options(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    push(client, alice, [save_op({"selected": [0, 1]}, activity=MULTIPLE)])
    mark = marks_of(client, alice)[MULTIPLE]
    # two right (0), one wrong (1) picked of three right: max(0, 1 - 1) share of 2 marks
    assert (mark["score"], mark["max_score"]) == (0, 2)
    for word in ("high_score", "player2", "_total", "0", "2", "4"):
        assert word not in mark["feedback"]


def test_partly_right_multiple_choice_scores_a_share(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    push(client, alice, [save_op({"selected": [0, 2, 3]}, activity=MULTIPLE)])
    mark = marks_of(client, alice)[MULTIPLE]
    assert mark["score"] == pytest.approx(2 * (2 - 1) / 3)
    assert mark["feedback"].startswith("Partly right")


def test_an_older_save_that_loses_the_conflict_rule_leaves_the_mark(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    push(client, alice, [save_op({"selected": [1]}, activity=CHOICE, client_time=at(10))])
    # Another laptop, offline since before: its older, wrong answer arrives later and is kept as a
    # revision, but the current answer (and so its mark) stays.
    late = save_op({"selected": [2]}, activity=CHOICE, client_time=at(5))
    push(client, alice, [late], device_id="laptop-2")
    mark = marks_of(client, alice)[CHOICE]
    assert (mark["score"], mark["revision"]) == (1, 1)


def test_a_batch_is_marked_by_the_answer_that_wins(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    operations = [
        save_op({"selected": [1]}, activity=CHOICE, client_time=at(1)),
        save_op({"selected": [3]}, activity=CHOICE, client_time=at(3)),
        save_op({"selected": [2]}, activity=CHOICE, client_time=at(2)),
    ]
    results = push(client, alice, operations).json()["results"]
    assert [r["outcome"] for r in results] == ["applied"] * 3
    mark = marks_of(client, alice)[CHOICE]
    assert (mark["score"], mark["revision"]) == (0, 2)


def test_a_teachers_mark_is_never_replaced_by_the_automatic_one(client, users):
    alice_id = users.add("alice", "pupil")
    users.enrol("12A", users.add("teach", "teacher"), [alice_id])
    alice, teacher = login(client, "alice"), login(client, "teach")
    push(client, alice, [save_op({"selected": [0]}, activity=CHOICE, client_time=at(1))])
    [result] = push(
        client, teacher, [mark_op(alice_id, 1, max_score=1, feedback="fair point", activity=CHOICE)]
    ).json()["results"]
    assert result["outcome"] == "applied"
    push(client, alice, [save_op({"selected": [2]}, activity=CHOICE, client_time=at(30))])
    mark = marks_of(client, alice)[CHOICE]
    assert (mark["score"], mark["source"], mark["feedback"]) == (1, "teacher", "fair point")


def test_written_answers_stay_with_the_teacher(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    push(client, alice, [save_op({"text": "because input gives text"}, activity=TEXT)])
    assert TEXT not in marks_of(client, alice)


def test_a_replayed_choice_save_writes_no_second_mark(client, users):
    users.add("alice", "pupil")
    alice = login(client, "alice")
    operation = save_op({"selected": [1]}, activity=CHOICE)
    push(client, alice, [operation])
    first = marks_of(client, alice)[CHOICE]
    [again] = push(client, alice, [operation]).json()["results"]
    assert again["outcome"] == "duplicate"
    assert marks_of(client, alice)[CHOICE]["marked_at"] == first["marked_at"]
