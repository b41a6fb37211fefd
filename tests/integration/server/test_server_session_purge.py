"""Dead sessions (logged out, revoked, past their absolute expiry, idle past their timeout) are deleted
by a periodic task of the server, counted in `tlac_sessions_purged_total`; live sessions are untouched.
Against a real server process on PostgreSQL purging every second."""

from __future__ import annotations

import re
import time

import httpx
from server_helpers import METRICS_TOKEN, bearer, login, sql


def purged_total(http: httpx.Client) -> float:
    text = http.get("/api/metrics", headers=bearer(METRICS_TOKEN)).text
    match = re.search(r"^tlac_sessions_purged_total(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def wait_for(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def sessions_of(pg_url: str, username: str) -> int:
    [(count,)] = sql(
        pg_url,
        "SELECT count(*) FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = %s",
        username,
    )
    return int(count)


def test_dead_sessions_are_purged_and_counted_and_live_ones_kept(make_server, pg_url, users):
    for name in ("alice", "bob", "carol", "dave"):
        users.add(name, "pupil")
    server = make_server(pg_url, POST16_SESSION_PURGE_SECONDS="1")
    with httpx.Client(base_url=server.url) as http:
        alice = login(http, "alice")
        bob = login(http, "bob")
        login(http, "carol")
        login(http, "dave")
        assert http.post("/api/auth/logout", headers=bearer(bob)).status_code == 204
        sql(
            pg_url,
            "UPDATE user_sessions SET expires_at = now() - interval '1 s' WHERE user_id = "
            "(SELECT id FROM users WHERE username = 'carol')",
        )
        sql(
            pg_url,
            "UPDATE user_sessions SET last_seen_at = now() - interval '30 days' WHERE user_id = "
            "(SELECT id FROM users WHERE username = 'dave')",
        )

        assert wait_for(lambda: sum(sessions_of(pg_url, n) for n in ("bob", "carol", "dave")) == 0)
        assert sessions_of(pg_url, "alice") == 1
        assert http.get("/api/auth/me", headers=bearer(alice)).status_code == 200
        assert purged_total(http) >= 3


def test_purge_can_be_switched_off(make_settings, users, pg_url):
    from server_helpers import app_client

    users.add("bob", "pupil")
    with app_client(make_settings(POST16_SESSION_PURGE_SECONDS="0")) as client:
        bob = login(client, "bob")
        assert client.post("/api/auth/logout", headers=bearer(bob)).status_code == 204
    assert sessions_of(pg_url, "bob") == 1


def test_failed_login_state_nobody_added_to_for_an_hour_is_forgotten(make_server, pg_url, users):
    users.add("alice", "pupil")
    server = make_server(pg_url, POST16_SESSION_PURGE_SECONDS="1")
    with httpx.Client(base_url=server.url) as http:
        for name in ("alice", "mallory"):
            assert (
                http.post("/api/auth/login", json={"username": name, "password": "wrong"}).status_code == 401
            )
    sql(
        pg_url,
        "UPDATE login_throttles SET last_failure_at = now() - interval '2 hours' WHERE key LIKE %s",
        "%mallory%",
    )

    def remaining() -> set[str]:
        return {row[0] for row in sql(pg_url, "SELECT key FROM login_throttles")}

    assert wait_for(lambda: not any("mallory" in key for key in remaining()))
    assert any("alice" in key for key in remaining())
