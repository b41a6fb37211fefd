"""Checks that arrive by sync (`code.check` operations), on PostgreSQL with the real Docker sandbox: the
server marks the exact version the laptop checked, hidden tests included, once, and the mark comes back
by pull naming that version."""

from __future__ import annotations

import uuid

import pytest
from server_helpers import login, now_iso, pull_until, push, save_op, sql

pytestmark = pytest.mark.docker

LESSON, ACTIVITY = "functions", "clamp"
# Passes the three visible tests, fails the hidden one (floats and the boundaries).
VISIBLE_ONLY = (
    "def clamp(value, low, high):\n"
    "    if value == 12:\n        return 10\n"
    "    if value == -5:\n        return 0\n"
    "    return 7\n"
)
MODEL = "def clamp(value, low, high):\n    return max(low, min(value, high))\n"


def check_op(code: str, op_id: uuid.UUID | None = None) -> dict:
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "kind": "code.check",
        "lesson_id": LESSON,
        "activity_id": ACTIVITY,
        "payload": {"code": code},
        "client_time": now_iso(),
    }


@pytest.fixture
def server(make_settings, users, sandbox_image):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from server.app import create_app

    users.add("ada", "pupil")
    users.add("ben", "pupil")
    users.add("mr-c", "teacher")
    settings = make_settings(POST16_SANDBOX_ENABLED="true", POST16_RATE_LIMITS="python_run=1000")
    with TestClient(app=create_app(settings)) as client:
        yield client, settings


def test_a_queued_check_marks_the_version_it_names_hidden_tests_included(server):
    client, _ = server
    ada = login(client, "ada")
    save = save_op({"code": VISIBLE_ONLY}, lesson=LESSON, activity=ACTIVITY)

    answered = push(client, ada, [save, check_op(VISIBLE_ONLY)]).json()["results"]

    assert [(r["outcome"], r.get("revision")) for r in answered] == [("applied", 1), ("applied", 1)]
    items, _ = pull_until(client, ada, 1, kind="mark", timeout=60)
    [mark] = [item["mark"] for item in items if item["type"] == "mark"]
    assert (mark["score"], mark["max_score"], mark["source"], mark["revision"]) == (2.25, 3, "auto", 1)
    assert "version 1: 3 of 4 tests passed" in mark["feedback"]


def test_a_later_version_is_marked_as_that_version(server):
    client, _ = server
    ada = login(client, "ada")
    push(client, ada, [save_op({"code": VISIBLE_ONLY}, lesson=LESSON, activity=ACTIVITY)])
    push(client, ada, [save_op({"code": MODEL}, lesson=LESSON, activity=ACTIVITY), check_op(MODEL)])

    items, _ = pull_until(client, ada, 1, kind="mark", timeout=60)

    [mark] = [item["mark"] for item in items if item["type"] == "mark"]
    assert (mark["score"], mark["revision"]) == (3, 2)


def test_a_replayed_check_is_a_duplicate_and_runs_once(server, pg_url):
    client, _ = server
    ada = login(client, "ada")
    op_id = uuid.uuid4()
    push(client, ada, [save_op({"code": MODEL}, lesson=LESSON, activity=ACTIVITY), check_op(MODEL, op_id)])
    pull_until(client, ada, 1, kind="mark", timeout=60)

    again = push(client, ada, [check_op(MODEL, op_id)]).json()["results"]

    assert [(r["outcome"], r["revision"]) for r in again] == [("duplicate", 1)]
    assert sql(pg_url, "SELECT count(*), min(status) FROM code_checks") == [(1, "done")]


def test_a_check_of_code_that_was_never_saved_is_refused_naming_it(server):
    client, _ = server
    ada = login(client, "ada")

    [result] = push(client, ada, [check_op("print('never saved')")]).json()["results"]

    assert (result["outcome"], result["code"]) == ("rejected", "not_found")
    assert "payload.code" in result["reason"]


def test_another_pupils_op_id_reveals_nothing_and_changes_nothing(server, pg_url):
    client, _ = server
    ada, ben = login(client, "ada"), login(client, "ben")
    op_id = uuid.uuid4()
    push(client, ada, [save_op({"code": MODEL}, lesson=LESSON, activity=ACTIVITY), check_op(MODEL, op_id)])
    push(client, ben, [save_op({"code": MODEL}, lesson=LESSON, activity=ACTIVITY)])

    [result] = push(client, ben, [check_op(MODEL, op_id)]).json()["results"]

    assert (result["outcome"], result["code"]) == ("rejected", "conflict")
    assert "revision" not in result
    assert sql(pg_url, "SELECT count(*) FROM code_checks") == [(1,)]


def test_only_pupils_queue_checks(server):
    client, _ = server
    teacher = login(client, "mr-c")

    [result] = push(client, teacher, [check_op(MODEL)]).json()["results"]

    assert (result["outcome"], result["code"]) == ("rejected", "forbidden")
