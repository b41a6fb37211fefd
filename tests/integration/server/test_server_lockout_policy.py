"""The login lockout stops guessing without letting attackers lock staff out (OWASP): the attacker's
back-off is keyed on username + address, a much higher per-username ceiling stops guessing spread over
many addresses, and a device that logged in before (device cookie / header) is throttled on its own.
Refusals reach the audit log aggregated; successful logins are limited per user and per address.

Run against a real server process on PostgreSQL behind a trusted proxy (127.0.0.1), so that each request
can come from the client address the test chooses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from server_helpers import PASSWORD, sql

WRONG = "not the password"
DEVICE_HEADER = "X-Post16-Device"


def from_address(address: str, **extra: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **extra}


def attempt(
    http: httpx.Client,
    username: str,
    password: str,
    address: str,
    client: str = "desktop",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return http.post(
        "/api/auth/login",
        headers=from_address(address, **(headers or {})),
        json={"username": username, "password": password, "client": client},
    )


def guess(http: httpx.Client, username: str, address: str, times: int) -> list[int]:
    return [attempt(http, username, WRONG, address).status_code for _ in range(times)]


@pytest.fixture
def proxied(make_server, pg_url):  # type: ignore[no-untyped-def]
    def start(**overrides: str) -> Any:
        return make_server(pg_url, POST16_TRUSTED_PROXIES="127.0.0.1", **overrides)

    return start


def test_attackers_failures_from_many_addresses_do_not_lock_the_teacher_out_of_their_usual_devices(
    proxied, users
):
    users.add("teach", "teacher")
    server = proxied(POST16_LOGIN_USER_CEILING="20")
    school = "192.0.2.10"
    with httpx.Client(base_url=server.url) as laptop, httpx.Client(base_url=server.url) as console:
        first = attempt(laptop, "teach", PASSWORD, school)
        assert first.status_code == 200
        device_token = first.json()["device_token"]
        assert device_token
        assert attempt(console, "teach", PASSWORD, school, client="web").status_code == 200
        assert console.cookies.get("tlac_device", path="/api/auth")

        for n in range(4):  # 20 failures from four addresses: the ceiling
            attacker = f"203.0.113.{n}"
            assert guess(laptop, "teach", attacker, 5) == [401] * 5
            assert guess(laptop, "teach", attacker, 1) == [429]  # the attacker's own back-off
        assert guess(laptop, "teach", "203.0.113.200", 1) == [429]  # a fresh address: the ceiling
        # The username is now locked for devices it does not trust, wherever they are...
        stranger = httpx.post(
            f"{server.url}/api/auth/login",
            headers=from_address("198.51.100.1"),
            json={"username": "teach", "password": PASSWORD, "client": "desktop"},
        )
        assert stranger.status_code == 429
        # ...but the teacher's laptop and browser, which logged in before, still get in.
        own = attempt(laptop, "teach", PASSWORD, school, headers={DEVICE_HEADER: device_token})
        assert own.status_code == 200, own.text
        assert own.json().get("device_token") is None  # the device stays trusted with its token
        assert attempt(console, "teach", PASSWORD, school, client="web").status_code == 200


def test_failures_from_one_address_do_not_lock_the_username_from_another(proxied, users):
    users.add("alice", "pupil")
    server = proxied()
    with httpx.Client(base_url=server.url) as http:
        assert guess(http, "alice", "203.0.113.7", 5) == [401] * 5
        locked = attempt(http, "alice", PASSWORD, "203.0.113.7")
        assert locked.status_code == 429
        assert 25 <= int(locked.headers["Retry-After"]) <= 30
        assert attempt(http, "alice", PASSWORD, "192.0.2.44").status_code == 200


def test_a_trusted_device_that_keeps_guessing_wrong_is_locked_on_its_own(proxied, users):
    users.add("alice", "pupil")
    server = proxied()
    with httpx.Client(base_url=server.url) as http:
        token = attempt(http, "alice", PASSWORD, "192.0.2.5").json()["device_token"]
        device = {DEVICE_HEADER: token}
        statuses = [attempt(http, "alice", WRONG, "192.0.2.5", headers=device).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        assert attempt(http, "alice", PASSWORD, "192.0.2.5", headers=device).status_code == 429
        # Its failures were its own: the same address without the token is not locked.
        assert attempt(http, "alice", PASSWORD, "192.0.2.5").status_code == 200


def test_another_users_device_token_exempts_nothing(proxied, users):
    users.add("alice", "pupil")
    users.add("bob", "pupil")
    server = proxied()
    with httpx.Client(base_url=server.url) as http:
        alices = {DEVICE_HEADER: attempt(http, "alice", PASSWORD, "192.0.2.5").json()["device_token"]}
        assert [attempt(http, "bob", WRONG, "203.0.113.9", headers=alices).status_code for _ in range(5)] == [
            401
        ] * 5
        assert attempt(http, "bob", PASSWORD, "203.0.113.9", headers=alices).status_code == 429


def test_device_tokens_are_stored_hashed(proxied, users, pg_url):
    users.add("alice", "pupil")
    server = proxied()
    with httpx.Client(base_url=server.url) as http:
        token = attempt(http, "alice", PASSWORD, "192.0.2.5").json()["device_token"]
    stored = [row[0] for row in sql(pg_url, "SELECT token_hash FROM trusted_devices")]
    assert len(stored) == 1
    assert token not in stored[0]
    assert len(stored[0]) == 64


def test_refused_logins_are_audited_once_a_minute_with_their_count(proxied, users, pg_url):
    users.add("alice", "pupil")
    server = proxied()
    with httpx.Client(base_url=server.url) as http:
        guess(http, "alice", "203.0.113.7", 5)
        assert guess(http, "alice", "203.0.113.7", 40) == [429] * 40
        rows = sql(pg_url, "SELECT details FROM audit_log WHERE action = 'user.login_throttled'")
        assert [row[0]["refused"] for row in rows] == [1]
        # A minute later, the next refusal writes one row counting every refusal since the last.
        sql(pg_url, "UPDATE login_throttles SET refusals_logged_at = refusals_logged_at - interval '61 s'")
        assert guess(http, "alice", "203.0.113.7", 1) == [429]
    rows = sql(pg_url, "SELECT details FROM audit_log WHERE action = 'user.login_throttled' ORDER BY id")
    assert [row[0]["refused"] for row in rows] == [1, 40]
    assert rows[0][0]["scope"] == "pair"
    failed = sql(pg_url, "SELECT count(*) FROM audit_log WHERE action = 'user.login_failed'")
    assert failed == [(5,)]


def test_successful_logins_are_limited_per_user(proxied, users):
    users.add("alice", "pupil")
    users.add("bob", "pupil")
    server = proxied(POST16_LOGIN_SUCCESS_PER_USER="3")
    with httpx.Client(base_url=server.url) as http:
        statuses = [attempt(http, "alice", PASSWORD, f"192.0.2.{n}").status_code for n in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = attempt(http, "alice", PASSWORD, "192.0.2.99")
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert attempt(http, "bob", PASSWORD, "192.0.2.1").status_code == 200


def test_successful_logins_are_limited_per_address(proxied, users):
    for name in ("alice", "bob", "carol"):
        users.add(name, "pupil")
    server = proxied(POST16_LOGIN_SUCCESS_PER_IP="2")
    with httpx.Client(base_url=server.url) as http:
        statuses = [
            attempt(http, name, PASSWORD, "192.0.2.8").status_code for name in ("alice", "bob", "carol")
        ]
        assert statuses == [200, 200, 429]
        assert attempt(http, "carol", PASSWORD, "192.0.2.9").status_code == 200
