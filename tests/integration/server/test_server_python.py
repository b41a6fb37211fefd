"""`/api/python`: runs go through the real sandbox (Docker), checks save an automatic mark, and the rest
of the server keeps working when the sandbox is switched off."""

from __future__ import annotations

import pytest
from server_helpers import bearer, login

LESSON = "variables-and-types"


@pytest.fixture
def sandboxed(make_settings, users, sandbox_image):  # type: ignore[no-untyped-def]
    from litestar.testing import TestClient

    from server.app import create_app

    users.add("coder")
    with TestClient(app=create_app(make_settings(POST16_SANDBOX_ENABLED="true"))) as client:
        yield client, bearer(login(client, "coder"))


def code_activity_with_tests(client, headers):  # type: ignore[no-untyped-def]
    lesson = client.get(f"/api/lessons/{LESSON}", headers=headers).json()
    for activity in lesson["activities"]:
        if activity["kind"] == "code" and activity["tests"]:
            return activity
    raise AssertionError("the first lesson has no auto-marked code activity")


@pytest.mark.docker
def test_run_prints_output_from_a_real_container(sandboxed):
    client, headers = sandboxed
    response = client.post("/api/python/run", headers=headers, json={"code": "print(6 * 7)"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["stdout"].strip()) == ("success", "42")


@pytest.mark.docker
def test_an_infinite_loop_times_out_and_the_next_run_works(sandboxed):
    client, headers = sandboxed
    assert (
        client.post("/api/python/run", headers=headers, json={"code": "while True: pass"}).json()["status"]
        == "timeout"
    )
    assert (
        client.post("/api/python/run", headers=headers, json={"code": "print('ok')"}).json()["stdout"]
        == "ok\n"
    )


@pytest.mark.docker
def test_check_marks_the_model_answer_full_and_saves_an_automatic_mark(sandboxed, make_settings):
    client, headers = sandboxed
    from shared.lessons import load_manifest

    activity = code_activity_with_tests(client, headers)
    model = load_manifest(make_settings().lessons_dir).lesson(LESSON).activity(activity["id"]).model_answer
    result = client.post(
        f"/api/python/check/{LESSON}/{activity['id']}", headers=headers, json={"code": model}
    )
    assert result.status_code == 200, result.text
    assert result.json()["score"] == result.json()["max_score"]
    marks = client.get("/api/marks", headers=headers).json()
    assert [(m["activity_id"], m["source"], m["score"]) for m in marks] == [
        (activity["id"], "auto", result.json()["max_score"])
    ]


@pytest.mark.docker
def test_check_of_a_wrong_answer_scores_less(sandboxed):
    client, headers = sandboxed
    activity = code_activity_with_tests(client, headers)
    result = client.post(
        f"/api/python/check/{LESSON}/{activity['id']}", headers=headers, json={"code": "print('no')"}
    )
    assert result.json()["score"] < result.json()["max_score"]
    assert any(not test["passed"] for test in result.json()["tests"])


def test_check_of_a_choice_activity_is_refused_naming_it(client, users):
    users.add("chooser")
    headers = bearer(login(client, "chooser"))
    lesson = client.get(f"/api/lessons/{LESSON}", headers=headers).json()
    choice = next(a for a in lesson["activities"] if a["kind"] == "choice")
    response = client.post(f"/api/python/check/{LESSON}/{choice['id']}", headers=headers, json={"code": "x"})
    assert response.status_code == 400
    assert response.json()["field"] == "activity_id"


def test_with_the_sandbox_switched_off_runs_say_unavailable_and_saves_still_work(client, users):
    users.add("offline")
    headers = bearer(login(client, "offline"))
    run = client.post("/api/python/run", headers=headers, json={"code": "print(1)"})
    assert run.status_code == 200
    assert run.json()["status"] == "unavailable"
    assert "switched off" in run.json()["message"]
    lesson = client.get(f"/api/lessons/{LESSON}", headers=headers).json()
    code = next(a for a in lesson["activities"] if a["kind"] == "code")
    saved = client.post(
        f"/api/activity/state/{LESSON}/{code['id']}", headers=headers, json={"state": {"code": "x"}}
    )
    assert saved.status_code == 200
    assert client.get("/api/ready").json()["checks"]["sandbox"] == "disabled"


def test_python_run_is_rate_limited_per_user(make_settings, users):
    from litestar.testing import TestClient

    from server.app import create_app

    users.add("spammer")
    with TestClient(app=create_app(make_settings(POST16_RATE_LIMITS="python_run=3"))) as client:
        headers = bearer(login(client, "spammer"))
        codes = [
            client.post("/api/python/run", headers=headers, json={"code": "1"}).status_code for _ in range(4)
        ]
    assert codes == [200, 200, 200, 429]


def test_oversized_program_is_refused_naming_the_field(client, users):
    users.add("bigcode")
    headers = bearer(login(client, "bigcode"))
    response = client.post("/api/python/run", headers=headers, json={"code": "x" * 300_000})
    assert response.status_code == 400
    assert "code" in response.json()["detail"]
