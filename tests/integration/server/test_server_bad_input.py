"""Bad input anywhere gets a 4xx that names the field, changes nothing, and is never a 500."""

from __future__ import annotations

import json

import pytest
from server_helpers import CODE, LESSON, app_client, bearer, login, mark_op, push, save_op

STATE = f"/api/activity/state/{LESSON}/{CODE}"


@pytest.fixture
def alice(client, users) -> dict[str, str]:  # type: ignore[no-untyped-def]
    users.add("alice", "pupil")
    return bearer(login(client, "alice"))


@pytest.fixture
def teacher(client, users) -> tuple[dict[str, str], int]:  # type: ignore[no-untyped-def]
    pupil = users.add("pip", "pupil")
    users.enrol("12A", users.add("teach", "teacher"), [pupil])
    return bearer(login(client, "teach")), pupil


def nothing_saved(client, headers) -> bool:  # type: ignore[no-untyped-def]
    return client.get(STATE, headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", '{"username": "alice", '),
        (STATE, "{state: nope}"),
        ("/api/sync/push", "[1, 2"),
        (STATE, "\xff\xfe not utf-8"),
    ],
)
def test_malformed_json_is_a_400(client, alice, path, body):
    response = client.post(path, headers={**alice, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert nothing_saved(client, alice)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/auth/login", {"username": 5, "password": "x"}, "username"),
        ("/api/auth/login", {"username": "alice"}, "password"),
        ("/api/auth/login", {"username": "alice", "password": "x", "client": "fridge"}, "client"),
        (STATE, {"state": "print(1)"}, "state"),
        (STATE, {"state": {"code": "x"}, "op_id": "not-a-uuid"}, "op_id"),
        ("/api/sync/push", {"protocol": "one", "device_id": "d", "operations": []}, "protocol"),
        ("/api/sync/push", {"protocol": 1, "device_id": "bad id!", "operations": []}, "device_id"),
        (
            "/api/sync/push",
            {"protocol": 1, "device_id": "d", "operations": [{"op_id": "x"}]},
            "operations[0]",
        ),
    ],
)
def test_wrong_types_are_refused_naming_the_field(client, alice, path, body, field):
    response = client.post(path, headers=alice, json=body)
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert nothing_saved(client, alice)


def test_push_of_more_operations_than_a_batch_holds_is_refused(client, alice):
    response = push(client, alice["Authorization"][7:], [save_op({"code": "x"}) for _ in range(501)])
    assert response.status_code == 400
    assert "operations" in response.json()["detail"]
    assert nothing_saved(client, alice)


def test_oversize_body_is_refused_with_413(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_MAX_BODY_BYTES="2048")) as client:
        headers = bearer(login(client, "alice"))
        response = client.post(STATE, headers=headers, json={"state": {"code": "x" * 5000}})
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert nothing_saved(client, headers)


def test_oversize_body_without_a_length_header_is_refused(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_MAX_BODY_BYTES="2048")) as client:
        headers = bearer(login(client, "alice"))

        def chunks():  # type: ignore[no-untyped-def]
            yield b'{"state": {"code": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}}'

        response = client.post(
            STATE, headers={**headers, "Content-Type": "application/json"}, content=chunks()
        )
        assert response.status_code == 413
        assert nothing_saved(client, headers)


def test_answer_bigger_than_the_state_limit_is_refused(client, alice):
    response = client.post(STATE, headers=alice, json={"state": {"code": "x" * 70_000}})
    assert response.status_code == 413
    assert response.json()["field"] == "state"
    assert nothing_saved(client, alice)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/activity/state/{LESSON}/no-such-activity", "activity_id"),
        (f"/api/activity/state/no-such/{CODE}", "lesson_id"),
    ],
)
def test_saving_to_an_unknown_lesson_or_activity_is_a_404_naming_it(client, alice, path, field):
    response = client.post(path, headers=alice, json={"state": {"code": "x"}})
    assert response.status_code == 404
    assert response.json()["field"] == field
    assert "no-such" in response.json()["detail"]


def test_unknown_lesson_is_a_404(client, alice):
    assert client.get("/api/lessons/no-such-lesson", headers=alice).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", STATE + "?pupil_id=99999999999999999999", None),
        ("get", STATE + "?pupil_id=-1", None),
        ("get", "/api/sync/pull?limit=100000", None),
        ("get", "/api/sync/pull?cursor=YzE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ", None),
        ("post", f"/api/activity/restore/{LESSON}/{CODE}", {"revision": 99999999999999999999}),
        ("post", f"/api/activity/restore/{LESSON}/{CODE}", {"revision": 3_000_000_000}),
    ],
)
def test_out_of_range_numbers_are_a_400_not_a_database_error(client, alice, method, path, body):
    response = getattr(client, method)(path, headers=alice, **({"json": body} if body else {}))
    assert response.status_code == 400, response.text
    assert response.json()["field"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/marks/99999999999999999999/{LESSON}/{CODE}",
        f"/api/marks/9223372036854775807/{LESSON}/{CODE}",
    ],
)
def test_out_of_range_pupil_id_when_marking_is_a_400(client, teacher, path):
    response = client.post(path, headers=teacher[0], json={"score": 1, "max_score": 3})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "pupil_id"


def test_out_of_range_ids_in_the_teacher_api_are_a_400(client, teacher):
    headers = teacher[0]
    assert (
        client.get("/api/teacher/classes/99999999999999999999/progress", headers=headers).status_code == 400
    )
    big = mark_op(2**63, 1)
    response = client.post(
        "/api/sync/push", headers=headers, json={"protocol": 1, "device_id": "d", "operations": [big]}
    )
    assert response.status_code == 400
    assert "pupil_id" in response.json()["detail"]


def test_nul_character_in_an_answer_is_refused_and_a_typed_escape_is_kept(client, alice):
    refused = client.post(STATE, headers=alice, json={"state": {"code": "a\u0000b"}})
    assert refused.status_code == 400
    assert refused.json()["field"] == "state"
    assert nothing_saved(client, alice)
    typed = client.post(STATE, headers=alice, json={"state": {"code": 'print("\\u0000")'}})
    assert typed.status_code == 200
    assert client.get(STATE, headers=alice).json()["state"]["code"] == 'print("\\u0000")'


def test_nul_character_in_a_pushed_answer_rejects_only_that_operation(client, alice):
    token = alice["Authorization"][7:]
    results = push(client, token, [save_op({"code": "\u0000"}), save_op({"code": "fine"})]).json()["results"]
    assert [r["outcome"] for r in results] == ["rejected", "applied"]


def test_nul_character_in_feedback_is_refused(client, teacher):
    headers, pupil = teacher
    response = client.post(
        f"/api/marks/{pupil}/{LESSON}/{CODE}",
        headers=headers,
        json={"score": 1, "max_score": 3, "feedback": "\u0000"},
    )
    assert response.status_code == 400
    assert "feedback" in response.json()["detail"]
    [result] = push(client, headers["Authorization"][7:], [mark_op(pupil, 1, feedback="\u0000")]).json()[
        "results"
    ]
    assert result["outcome"] == "rejected"


def test_absurdly_nested_answer_is_refused(client, alice):
    nested = json.loads('{"code": "x", "n": ' + "[" * 900 + "]" * 900 + "}")
    response = client.post(STATE, headers=alice, json={"state": nested})
    assert response.status_code == 400
    assert response.json()["field"] == "state"


def test_body_nested_deeper_than_the_decoder_allows_is_a_400(client, alice):
    body = '{"state": {"code": "x", "n": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = client.post(STATE, headers={**alice, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 400
    assert nothing_saved(client, alice)
