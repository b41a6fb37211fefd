"""CSRF: a cookie-authenticated unsafe request needs its own session's X-CSRF-Token; bearer requests
and safe methods need none."""

from __future__ import annotations

import pytest
from server_helpers import CODE, LESSON, bearer, login, session_cookie

SAVE = f"/api/activity/state/{LESSON}/{CODE}"


@pytest.fixture
def web_pupil(client, users):  # type: ignore[no-untyped-def]
    """A pupil logged in through the web (cookie in the client's jar); returns their CSRF token."""
    users.add("alice", "pupil")
    return login(client, "alice", client_kind="web")


def test_cookie_post_without_csrf_token_is_refused_and_saves_nothing(client, web_pupil):
    response = client.post(SAVE, json={"state": {"code": "print(1)"}})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert client.get(f"/api/activity/state/{LESSON}/{CODE}").status_code == 404


def test_cookie_post_with_another_sessions_csrf_token_is_refused(client, users, web_pupil):
    users.add("mallory", "pupil")
    cookie = client.cookies.get("tlac_session")
    client.cookies.clear()
    mallory_csrf = login(client, "mallory", client_kind="web")
    client.cookies.clear()
    response = client.post(
        SAVE,
        json={"state": {"code": "print(1)"}},
        headers={**session_cookie(cookie), "X-CSRF-Token": mallory_csrf},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_cookie_post_with_its_own_csrf_token_is_accepted(client, web_pupil):
    response = client.post(SAVE, json={"state": {"code": "print(1)"}}, headers={"X-CSRF-Token": web_pupil})
    assert response.status_code == 200, response.text
    assert client.get(SAVE).json()["state"] == {"code": "print(1)"}


def test_cookie_logout_without_csrf_token_does_not_log_out(client, web_pupil):
    response = client.post("/api/auth/logout")
    assert response.status_code == 403
    assert client.get("/api/auth/me").status_code == 200


def test_empty_csrf_header_is_refused(client, web_pupil):
    response = client.post(SAVE, json={"state": {"code": "x"}}, headers={"X-CSRF-Token": ""})
    assert response.status_code == 403


def test_cookie_get_needs_no_csrf_token(client, web_pupil):
    assert client.get("/api/auth/me").status_code == 200
    assert client.get("/api/lessons").status_code == 200


def test_bearer_post_needs_no_csrf_token(client, users):
    users.add("alice", "pupil")
    token = login(client, "alice")
    response = client.post(SAVE, headers=bearer(token), json={"state": {"code": "print(2)"}})
    assert response.status_code == 200, response.text


def test_an_empty_bearer_header_does_not_bypass_the_csrf_check(client, web_pupil):
    response = client.post(SAVE, json={"state": {"code": "x"}}, headers={"Authorization": "Bearer "})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
