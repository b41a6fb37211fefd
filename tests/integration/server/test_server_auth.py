"""Logins and sessions on real PostgreSQL: web and desktop logins, failures that reveal nothing,
rotation at login, logout, password change, idle and absolute expiry, disabled users, and secrets
that never reach the logs or the audit trail."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from server_helpers import (
    PASSWORD,
    app_client,
    bearer,
    database,
    login,
    login_response,
    session_cookie,
    sql,
)


def test_desktop_login_returns_a_bearer_token_that_identifies_the_user(client, users):
    users.add("alice", "pupil")
    token = login(client, "alice")
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"
    assert me.json()["user"]["role"] == "pupil"


def test_web_login_sets_an_httponly_strict_cookie_and_returns_a_csrf_token(client, users):
    users.add("head", "admin")
    response = login_response(client, "head", client_kind="web")
    assert response.status_code == 200
    body = response.json()
    assert body["csrf_token"]
    assert body.get("token") is None
    set_cookie = response.headers["set-cookie"].lower()
    assert set_cookie.startswith("tlac_session=")
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_session_cookie_is_secure_by_default(make_settings, users):
    users.add("head", "admin")
    with app_client(make_settings(POST16_COOKIE_SECURE="true")) as secure_client:
        response = login_response(secure_client, "head", client_kind="web")
        assert response.status_code == 200
        assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_and_unknown_user_get_the_same_answer(client, users):
    users.add("alice", "pupil")
    wrong_password = login_response(client, "alice", "not the password")
    unknown_user = login_response(client, "nobody-here", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json()["detail"] == unknown_user.json()["detail"]
    assert wrong_password.json()["code"] == unknown_user.json()["code"]


@pytest.mark.slow
def test_unknown_user_login_takes_about_as_long_as_a_wrong_password(make_settings, users):
    # A security property (no user enumeration by timing), so the bound is generous.
    users.add("alice", "pupil")
    settings = make_settings(POST16_LOGIN_USER_THRESHOLD="1000", POST16_LOGIN_IP_THRESHOLD="1000")

    def median_seconds(client, username: str) -> float:
        durations = []
        for _ in range(7):
            started = time.perf_counter()
            assert login_response(client, username, "not the password").status_code == 401
            durations.append(time.perf_counter() - started)
        return statistics.median(durations)

    with app_client(settings) as client:
        login_response(client, "warm-up", "x")
        wrong_password = median_seconds(client, "alice")
        unknown_user = median_seconds(client, "nobody-here")
    ratio = max(wrong_password, unknown_user) / min(wrong_password, unknown_user)
    assert ratio < 3, f"wrong password {wrong_password:.4f}s vs unknown user {unknown_user:.4f}s"


def test_session_token_planted_before_login_is_replaced_and_stops_working(client, users):
    users.add("alice", "pupil")
    planted_csrf = login(client, "alice", client_kind="web")
    planted = client.cookies.get("tlac_session")
    assert planted
    assert client.get("/api/auth/me").status_code == 200
    # The same browser (cookie still set) logs in again: it must get a new session id.
    response = login_response(client, "alice", client_kind="web")
    assert response.status_code == 200
    fresh = client.cookies.get("tlac_session")
    assert fresh
    assert fresh != planted
    assert response.json()["csrf_token"] != planted_csrf
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=session_cookie(planted)).status_code == 401
    assert client.get("/api/auth/me", headers=session_cookie(fresh)).status_code == 200


def test_bearer_token_sent_with_a_new_login_is_replaced(client, users):
    users.add("alice", "pupil")
    old = login(client, "alice")
    response = client.post(
        "/api/auth/login",
        headers=bearer(old),
        json={"username": "alice", "password": PASSWORD, "client": "desktop"},
    )
    assert response.status_code == 200
    new = response.json()["token"]
    assert new != old
    assert client.get("/api/auth/me", headers=bearer(old)).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(new)).status_code == 200


def test_logout_ends_the_session_at_once(client, users):
    users.add("alice", "pupil")
    token = login(client, "alice")
    other_device = login(client, "alice")
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(other_device)).status_code == 200


def test_web_logout_clears_the_cookie_and_ends_the_session(client, users):
    users.add("head", "admin")
    csrf = login(client, "head", client_kind="web")
    cookie = client.cookies.get("tlac_session")
    response = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert "max-age=0" in response.headers["set-cookie"].lower()
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=session_cookie(cookie)).status_code == 401


def test_password_change_ends_every_session_and_only_the_new_password_works(client, users):
    users.add("alice", "pupil")
    laptop = login(client, "alice")
    other_laptop = login(client, "alice")
    response = client.post(
        "/api/auth/password",
        headers=bearer(laptop),
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
    )
    assert response.status_code == 204
    assert client.get("/api/auth/me", headers=bearer(laptop)).status_code == 401
    assert client.get("/api/auth/me", headers=bearer(other_laptop)).status_code == 401
    assert login_response(client, "alice").status_code == 401
    assert login_response(client, "alice", "a brand new secret").status_code == 200


def test_password_change_with_the_wrong_current_password_changes_nothing(client, users):
    users.add("alice", "pupil")
    token = login(client, "alice")
    response = client.post(
        "/api/auth/password",
        headers=bearer(token),
        json={"current_password": "guess", "new_password": "a brand new secret"},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "current_password"
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert login_response(client, "alice").status_code == 200


def test_idle_session_expires(client, users, pg_url):
    users.add("alice", "pupil")
    token = login(client, "alice")
    sql(pg_url, "UPDATE user_sessions SET last_seen_at = now() - make_interval(secs => idle_timeout + 5)")
    response = client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_use_keeps_a_session_alive_past_the_idle_timeout(client, users, pg_url):
    users.add("alice", "pupil")
    token = login(client, "alice")
    # Seen 2 minutes ago with a 3-minute idle timeout: a request now renews it.
    sql(pg_url, "UPDATE user_sessions SET idle_timeout = 180, last_seen_at = now() - interval '2 minutes'")
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    sql(pg_url, "UPDATE user_sessions SET last_seen_at = last_seen_at - interval '2 minutes'")
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200


def test_session_past_its_absolute_expiry_ends_even_when_in_use(client, users, pg_url):
    users.add("alice", "pupil")
    token = login(client, "alice")
    sql(pg_url, "UPDATE user_sessions SET expires_at = now() - interval '1 second'")
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_web_sessions_take_their_lifetimes_from_the_settings(make_settings, users, pg_url):
    users.add("head", "admin")
    settings = make_settings(POST16_WEB_SESSION_IDLE="120", POST16_WEB_SESSION_ABSOLUTE="600")
    with app_client(settings) as client:
        login(client, "head", client_kind="web")
    [(idle, lifetime)] = sql(
        pg_url, "SELECT idle_timeout, extract(epoch FROM expires_at - created_at) FROM user_sessions"
    )
    assert idle == 120
    assert round(float(lifetime)) == 600


def test_disabled_user_cannot_log_in_even_with_the_right_password(client, users, pg_url):
    users.add("alice", "pupil")
    sql(pg_url, "UPDATE users SET disabled = true WHERE username = 'alice'")
    response = login_response(client, "alice")
    assert response.status_code == 401
    assert response.json()["detail"] == login_response(client, "alice", "wrong").json()["detail"]


def test_disabling_a_user_ends_their_sessions(client, users):
    users.add("head", "admin")
    alice = users.add("alice", "pupil")
    token = login(client, "alice")
    admin = bearer(login(client, "head"))
    response = client.patch(f"/api/admin/users/{alice}", headers=admin, json={"disabled": True})
    assert response.status_code == 200, response.text
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/lessons", headers=bearer(token)).status_code == 401


def test_session_tokens_are_stored_only_as_hashes(client, users, pg_url):
    users.add("alice", "pupil")
    token = login(client, "alice")
    with database(pg_url) as connection:
        rows = connection.execute("SELECT row_to_json(s)::text FROM user_sessions s").fetchall()
    assert rows
    assert all(token not in row[0] for row in rows)


def test_request_with_a_made_up_token_is_unauthenticated(client):
    response = client.get("/api/auth/me", headers=bearer("x" * 43))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert client.get("/api/auth/me", headers=bearer("y" * 5000)).status_code == 401


@pytest.mark.slow
def test_passwords_and_tokens_never_reach_the_logs_or_the_audit_log(make_server, pg_url, users):
    users.add("alice", "pupil")
    users.add("head", "admin")
    server = make_server(pg_url, POST16_LOG_LEVEL="DEBUG", POST16_LOG_JSON="true")
    secrets_seen: list[str] = [PASSWORD, "Wrong-Pa55word-zq", "Brand-New-Secret-zq"]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert login_response(http, "alice", "Wrong-Pa55word-zq").status_code == 401
        assert login_response(http, "nobody", "Wrong-Pa55word-zq").status_code == 401
        token = login(http, "alice")
        secrets_seen.append(token)
        web = login_response(http, "head", client_kind="web")
        secrets_seen += [web.json()["csrf_token"], web.cookies["tlac_session"]]
        admin_token = login(http, "head")
        secrets_seen.append(admin_token)
        http.cookies.clear()
        changed = http.post(
            "/api/auth/password",
            headers=bearer(token),
            json={"current_password": PASSWORD, "new_password": "Brand-New-Secret-zq"},
        )
        assert changed.status_code == 204
        too_short = http.post(
            "/api/auth/password",
            headers=bearer(admin_token),
            json={"current_password": "Wrong-Pa55word-zq", "new_password": "short"},
        )
        assert too_short.status_code == 400
        assert http.get("/api/auth/me", headers=bearer(token)).status_code == 401
        reset = http.post(
            "/api/admin/users",
            headers=bearer(admin_token),
            json={"username": "bob", "password": "Brand-New-Secret-zq", "role": "pupil"},
        )
        assert reset.status_code == 201, reset.text
        assert http.post("/api/auth/logout", headers=bearer(admin_token)).status_code == 204
    server.stop()
    log_text = server.log_path.read_text()
    assert "login" in log_text or "request refused" in log_text, "the server logged nothing at DEBUG"
    with database(pg_url) as connection:
        audit_rows = [row[0] for row in connection.execute("SELECT row_to_json(a)::text FROM audit_log a")]
    assert any("user.login_failed" in row for row in audit_rows)
    for secret in secrets_seen:
        assert secret not in log_text
        assert not [row for row in audit_rows if secret in row]


def test_password_hashed_with_older_parameters_is_upgraded_at_login(client, users, pg_url):
    from argon2 import PasswordHasher

    from server.lib.security import needs_rehash

    users.add("alice", "pupil")
    old_hash = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(users.PASSWORD)
    sql(pg_url, "UPDATE users SET password_hash = %s WHERE username = 'alice'", old_hash)
    assert needs_rehash(old_hash)
    login(client, "alice")
    [(stored,)] = sql(pg_url, "SELECT password_hash FROM users WHERE username = 'alice'")
    assert stored != old_hash
    assert not needs_rehash(stored)
    assert login_response(client, "alice").status_code == 200
