"""Per-user, per-endpoint request limits (one-minute windows, kept in PostgreSQL): 429 with
Retry-After past the limit, exact across server processes, and a sync push counting once per batch."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest
from server_helpers import CODE, LESSON, TEXT, app_client, bearer, login, push, save_op

SAVE = f"/api/activity/state/{LESSON}/{CODE}"


def fresh_window(seconds_needed: float) -> None:
    """Limits count in fixed minute windows: start where the window has room for the whole test."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        time.sleep(left + 0.2)


def save(client, headers, n: int):  # type: ignore[no-untyped-def]
    return client.post(SAVE, headers=headers, json={"state": {"code": f"print({n})"}})


@pytest.mark.slow
def test_the_61st_save_in_a_minute_is_refused_with_retry_after(client, users):
    users.add("alice", "pupil")
    headers = bearer(login(client, "alice"))
    fresh_window(15)
    statuses = [save(client, headers, n).status_code for n in range(60)]
    assert statuses == [200] * 60
    refused = save(client, headers, 60)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get(SAVE, headers=headers).json()["state"] == {"code": "print(59)"}


def test_one_pupils_limit_does_not_hold_back_another(make_settings, users):
    users.add("alice", "pupil")
    users.add("bob", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=3")) as client:
        alice, bob = bearer(login(client, "alice")), bearer(login(client, "bob"))
        fresh_window(10)
        assert [save(client, alice, n).status_code for n in range(4)] == [200, 200, 200, 429]
        assert save(client, bob, 0).status_code == 200


def test_marking_has_its_own_limit(make_settings, users):
    pupil = users.add("alice", "pupil")
    teacher = users.add("teach", "teacher")
    users.enrol("12A", teacher, [pupil])
    with app_client(make_settings(POST16_RATE_LIMITS="mark_activity=2,activity_save=1")) as client:
        headers = bearer(login(client, "teach"))
        fresh_window(10)
        statuses = [
            client.post(
                f"/api/marks/{pupil}/{LESSON}/{CODE}", headers=headers, json={"score": n, "max_score": 3}
            ).status_code
            for n in range(3)
        ]
        assert statuses == [200, 200, 429]


def test_sync_push_of_200_operations_counts_as_one_request(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=5")) as client:
        token = login(client, "alice")
        fresh_window(15)
        for batch in range(3):
            operations = [
                save_op({"text": f"answer {batch}.{n}"}, activity=TEXT)
                if n % 2
                else save_op({"code": f"{n}"})
                for n in range(200)
            ]
            response = push(client, token, operations)
            assert response.status_code == 200, response.text
            assert {r["outcome"] for r in response.json()["results"]} == {"applied"}
        # The single-save endpoint still has its own count, untouched by the pushes.
        assert save(client, bearer(token), 0).status_code == 200


@pytest.mark.slow
def test_two_server_processes_share_one_save_limit_exactly(make_server, pg_url, users):
    users.add("alice", "pupil")
    servers = [make_server(pg_url, POST16_RATE_LIMITS="activity_save=20") for _ in range(2)]
    with httpx.Client(base_url=servers[0].url) as http:
        token = login(http, "alice")
    fresh_window(15)

    def one_save(n: int) -> int:
        url = servers[n % 2].url
        return httpx.post(
            f"{url}{SAVE}", headers=bearer(token), json={"state": {"code": str(n)}}, timeout=30
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(one_save, range(30)))
    assert statuses.count(200) == 20, statuses
    assert statuses.count(429) == 10
    revisions = httpx.get(
        f"{servers[1].url}/api/activity/revisions/{LESSON}/{CODE}", headers=bearer(token)
    ).json()["revisions"]
    assert len(revisions) == 20
