"""The login back-off (30 s → 120 s → 300 s → 600 s) per username and per client IP: kept in the
database, so it survives a restart and holds across server processes; spoofed forwarding headers do not
dodge it, and a trusted proxy's forwarded address is what counts."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest
from server_helpers import login_response, sql

WRONG = "not the password"


def fail(client, username: str, times: int, headers: dict[str, str] | None = None) -> list[int]:
    return [
        client.post(
            "/api/auth/login", headers=headers or {}, json={"username": username, "password": WRONG}
        ).status_code
        for _ in range(times)
    ]


def unlock(pg_url: str) -> None:
    """Let the current lockout run out without waiting for it."""
    sql(pg_url, "UPDATE login_throttles SET locked_until = now() - interval '1 second'")


def test_five_failed_logins_lock_the_username_for_30_seconds(client, users):
    users.add("alice", "pupil")
    assert fail(client, "alice", 5) == [401] * 5
    response = login_response(client, "alice")  # even the right password
    assert response.status_code == 429
    assert response.json()["code"] == "login_throttled"
    assert 25 <= int(response.headers["Retry-After"]) <= 30


@pytest.mark.slow
def test_back_off_grows_120_then_300_then_600_seconds_and_stays_at_600(client, users, pg_url):
    users.add("alice", "pupil")
    waits = []
    for _ in range(5):
        assert fail(client, "alice", 5) == [401] * 5
        response = login_response(client, "alice")
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        unlock(pg_url)
    expected = [30, 120, 300, 600, 600]
    assert all(e - 5 <= w <= e for w, e in zip(waits, expected, strict=True)), waits


def test_login_works_again_once_the_lockout_has_run_out(client, users, pg_url):
    users.add("alice", "pupil")
    fail(client, "alice", 5)
    unlock(pg_url)
    assert login_response(client, "alice").status_code == 200


def test_lockout_of_one_username_does_not_lock_out_another(client, users):
    users.add("alice", "pupil")
    users.add("bob", "pupil")
    fail(client, "alice", 5)
    assert login_response(client, "alice").status_code == 429
    assert login_response(client, "bob").status_code == 200


def test_username_case_does_not_dodge_the_lockout(client, users):
    users.add("alice", "pupil")
    for name in ("alice", "Alice", "ALICE", "aLiCe", "alicE"):
        fail(client, name, 1)
    assert login_response(client, "ALIce").status_code == 429


def test_throttled_logins_are_audited(client, users, pg_url):
    users.add("alice", "pupil")
    fail(client, "alice", 6)
    actions = [row[0] for row in sql(pg_url, "SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("user.login_failed") == 5
    assert "user.login_throttled" in actions


def test_failures_with_a_new_spoofed_forwarded_for_each_time_still_lock_the_username(client, users):
    users.add("alice", "pupil")
    for n in range(5):
        headers = {"X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": f"198.51.100.{n}"}
        assert fail(client, "alice", 1, headers) == [401]
    response = client.post(
        "/api/auth/login",
        headers={"X-Forwarded-For": "198.51.100.99"},
        json={"username": "alice", "password": WRONG},
    )
    assert response.status_code == 429


def test_failures_against_many_usernames_from_one_address_lock_that_address(make_settings, users):
    from server_helpers import app_client

    users.add("alice", "pupil")
    settings = make_settings(POST16_LOGIN_IP_THRESHOLD="4")
    with app_client(settings) as client:
        for n in range(4):
            headers = {"X-Forwarded-For": f"198.51.100.{n}"}
            assert fail(client, f"guess{n}", 1, headers) == [401]
        response = login_response(client, "alice")
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 25


@pytest.mark.slow
def test_forwarded_address_is_the_client_ip_only_behind_a_trusted_proxy(make_server, pg_url, users):
    users.add("alice", "pupil")
    direct = make_server(pg_url, POST16_LOGIN_IP_THRESHOLD="3")
    with httpx.Client(base_url=direct.url) as http:
        for n in range(3):
            fail(http, f"guess{n}", 1, {"X-Forwarded-For": f"203.0.113.{n}"})
        # Not behind a trusted proxy: every attempt came from 127.0.0.1, which is now locked.
        assert login_response(http, "alice").status_code == 429
    direct.stop()
    logged_ips = {row[0] for row in sql(pg_url, "SELECT client_ip FROM audit_log")}
    assert logged_ips == {"127.0.0.1"}


@pytest.mark.slow
def test_trusted_proxy_forwarded_address_decides_which_client_is_locked(make_server, pg_url, users):
    users.add("alice", "pupil")
    proxied = make_server(pg_url, POST16_LOGIN_IP_THRESHOLD="3", POST16_TRUSTED_PROXIES="127.0.0.1")
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    classmate = {"X-Forwarded-For": "203.0.113.8"}
    with httpx.Client(base_url=proxied.url) as http:
        for n in range(3):
            fail(http, f"guess{n}", 1, attacker)
        assert (
            http.post(
                "/api/auth/login", headers=attacker, json={"username": "alice", "password": "x"}
            ).status_code
            == 429
        )
        # Same proxy, another client behind it: not locked out.
        response = http.post(
            "/api/auth/login",
            headers=classmate,
            json={"username": "alice", "password": "correct horse battery", "client": "desktop"},
        )
        assert response.status_code == 200
        # The attacker cannot pose as the proxy's client by prepending an address of their choice.
        spoofed = {"X-Forwarded-For": "203.0.113.8, 203.0.113.7"}
        assert fail(http, "bob", 1, spoofed) == [429]
    proxied.stop()
    ips = {row[0] for row in sql(pg_url, "SELECT client_ip FROM audit_log")}
    assert ips == {"203.0.113.7", "203.0.113.8"}


@pytest.mark.slow
def test_lockout_survives_a_server_restart(make_server, pg_url, users):
    users.add("alice", "pupil")
    server = make_server(pg_url)
    with httpx.Client(base_url=server.url) as http:
        assert fail(http, "alice", 5) == [401] * 5
    server.stop()
    server.start()
    with httpx.Client(base_url=server.url) as http:
        response = login_response(http, "alice")
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0


@pytest.mark.slow
def test_two_server_processes_share_one_login_limit(make_server, pg_url, users):
    users.add("alice", "pupil")
    first = make_server(pg_url)
    second = make_server(pg_url)
    with httpx.Client(base_url=first.url) as one, httpx.Client(base_url=second.url) as two:
        statuses = [fail(http, "alice", 1)[0] for http in (one, two, one, two, one)]
        assert statuses == [401] * 5
        assert login_response(two, "alice").status_code == 429
        assert login_response(one, "alice").status_code == 429


@pytest.mark.slow
def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_threshold(make_server, pg_url, users):
    users.add("alice", "pupil")
    first = make_server(pg_url, POST16_LOGIN_IP_THRESHOLD="1000")
    second = make_server(pg_url, POST16_LOGIN_IP_THRESHOLD="1000")

    def guess(n: int) -> int:
        url = (first if n % 2 else second).url
        return httpx.post(
            f"{url}/api/auth/login", json={"username": "alice", "password": f"guess-{n}"}, timeout=60
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(20)))
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(429) >= 15
