"""The in-process session cache never outlives a revocation (server.domain.auth.sessioncache).

Each server process answers most requests from its cache of checked sessions; these tests make sure a
session that ends — by logout, by an admin, by a change made straight in the database, in this process
or another one — is refused, and that the cache switches itself off when it cannot hear about changes.
"""

from __future__ import annotations

import time

import httpx
import pytest
from server_helpers import bearer, database, login, login_response, sql

# A correctness bound, not a speed check: a change reaches other processes in milliseconds; the servers
# here keep sessions cached for a minute, so only the notification can explain a refusal in time.
REFUSED_WITHIN = 3.0
CACHE = {"POST16_SESSION_CACHE_SECONDS": "60"}


def wait_for_status(url: str, token: str, status: int) -> int:
    """Ask `GET /api/auth/me` until it answers `status` or the bound passes; returns the last status."""
    deadline = time.monotonic() + REFUSED_WITHIN
    while True:
        answer = httpx.get(f"{url}/api/auth/me", headers=bearer(token), timeout=5).status_code
        if answer == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_logout_is_refused_on_the_next_request_in_the_same_process(client, users):
    users.add("alice", "pupil")
    token = login(client, "alice")
    for _ in range(3):  # now it is cached
        assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code in (200, 204)
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


def test_role_change_by_an_admin_applies_to_the_very_next_request(client, users):
    users.add("head", "admin")
    teacher_id = users.add("tess", "teacher")
    admin_token = login(client, "head")
    teacher_token = login(client, "tess")
    assert client.get("/api/auth/me", headers=bearer(teacher_token)).json()["user"]["role"] == "teacher"
    changed = client.patch(
        f"/api/admin/users/{teacher_id}", headers=bearer(admin_token), json={"role": "pupil"}
    )
    assert changed.status_code == 200, changed.text
    # A role change ends the user's sessions: the cached teacher session must not survive it.
    assert client.get("/api/auth/me", headers=bearer(teacher_token)).status_code == 401


def test_session_revoked_in_one_process_is_refused_by_another(make_server, pg_url, users):
    users.add("alice", "pupil")
    first, second = make_server(pg_url, **CACHE), make_server(pg_url, **CACHE)
    token = login(httpx.Client(base_url=first.url), "alice")
    for _ in range(3):
        assert httpx.get(f"{second.url}/api/auth/me", headers=bearer(token)).status_code == 200
    assert httpx.post(f"{first.url}/api/auth/logout", headers=bearer(token)).status_code in (200, 204)
    assert wait_for_status(second.url, token, 401) == 401


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE users SET disabled = true WHERE username = 'alice'",
        "UPDATE users SET role = 'teacher' WHERE username = 'alice'",
        "DELETE FROM user_sessions",
        "TRUNCATE user_sessions",
    ],
)
def test_change_made_straight_in_the_database_reaches_the_server(make_server, pg_url, users, change):
    """Whoever changes users or sessions (psql, a restore, another tool), the server hears of it."""
    users.add("alice", "pupil")
    server = make_server(pg_url, **CACHE)
    token = login(httpx.Client(base_url=server.url), "alice")
    assert httpx.get(f"{server.url}/api/auth/me", headers=bearer(token)).json()["user"]["role"] == "pupil"
    sql(pg_url, change)
    if "role" in change:
        deadline = time.monotonic() + REFUSED_WITHIN
        role = "pupil"
        while role == "pupil" and time.monotonic() < deadline:
            role = httpx.get(f"{server.url}/api/auth/me", headers=bearer(token)).json()["user"]["role"]
        assert role == "teacher"
    else:
        assert wait_for_status(server.url, token, 401) == 401


def test_cache_is_off_while_the_server_cannot_hear_about_changes(make_server, pg_url, users):
    """Cut the listening connection and revoke in the same breath: the notification is lost, so the
    cache must have been emptied and bypassed, never trusted."""
    users.add("alice", "pupil")
    server = make_server(pg_url, **CACHE)
    token = login(httpx.Client(base_url=server.url), "alice")
    assert httpx.get(f"{server.url}/api/auth/me", headers=bearer(token)).status_code == 200
    with database(pg_url) as connection:
        listeners = connection.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = 'LISTEN post16_auth'"
        ).fetchall()
        assert listeners, "the server process should be listening for session changes"
        connection.execute("ALTER TABLE user_sessions DISABLE TRIGGER USER")  # the change goes unheard
        for (pid,) in listeners:
            connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
        connection.execute("UPDATE user_sessions SET revoked_at = now()")
        connection.execute("ALTER TABLE user_sessions ENABLE TRIGGER USER")
    assert wait_for_status(server.url, token, 401) == 401


@pytest.mark.parametrize("moved", ["expires_at = now() - interval '1 second'", "idle_timeout = 60"])
def test_shortened_session_is_refused_at_once_in_process(client, users, pg_url, moved):
    users.add("alice", "pupil")
    token = login(client, "alice")
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    sql(pg_url, f"UPDATE user_sessions SET {moved}, last_seen_at = now() - interval '2 minutes'")
    assert wait_for_in_process(client, token) == 401


def wait_for_in_process(client, token: str) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + REFUSED_WITHIN
    while True:
        answer = int(client.get("/api/auth/me", headers=bearer(token)).status_code)
        if answer == 401 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_a_wrong_token_is_never_cached(client, users):
    users.add("alice", "pupil")
    assert login_response(client, "alice").status_code == 200
    for _ in range(3):
        assert client.get("/api/auth/me", headers=bearer("not-a-session-token")).status_code == 401
    assert len(client.app.state.sessions) == 0


def test_touching_last_seen_keeps_everyone_else_cached(client, users, pg_url):
    """The once-a-minute `last_seen_at` write must not empty the cache (it did, and under a class's
    load every request went back to the database)."""
    users.add("alice", "pupil")
    users.add("bob", "pupil")
    alice, bob = login(client, "alice"), login(client, "bob")
    for token in (alice, bob):
        assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    sessions = client.app.state.sessions
    assert len(sessions) == 2
    sql(pg_url, "UPDATE user_sessions SET last_seen_at = now() - interval '2 minutes'")
    assert wait_for_in_process_count(sessions, 0) == 0  # moved back: both forgotten (notification)
    assert client.get("/api/auth/me", headers=bearer(bob)).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(alice)).status_code == 200  # touches last_seen
    assert len(sessions) == 2


def test_admin_renaming_one_user_forgets_only_that_users_sessions(client, users):
    users.add("head", "admin")
    alice_id = users.add("alice", "pupil")
    users.add("bob", "pupil")
    admin, alice, bob = login(client, "head"), login(client, "alice"), login(client, "bob")
    for token in (alice, bob):
        assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    renamed = client.patch(
        f"/api/admin/users/{alice_id}", headers=bearer(admin), json={"display_name": "Alice Liddell"}
    )
    assert renamed.status_code == 200, renamed.text
    assert client.get("/api/auth/me", headers=bearer(alice)).json()["user"]["display_name"] == "Alice Liddell"
    cached_users = {entry.user_id for entry in client.app.state.sessions._entries.values()}
    assert len(cached_users) == 3  # head, alice (read again), bob (never forgotten)


def wait_for_in_process_count(sessions, count: int) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + REFUSED_WITHIN
    while len(sessions) != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(sessions)
