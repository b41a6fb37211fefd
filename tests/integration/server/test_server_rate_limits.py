"""Per-user, per-endpoint request limits (one-minute windows, kept in PostgreSQL): 429 with
Retry-After past the limit, exact across server processes; a sync push's saves and marks count against
the same limits as their own endpoints, and what is over the budget is left for later, in order."""

from __future__ import annotations

import concurrent.futures
import time
import uuid

import httpx
import pytest
from server_helpers import (
    CHOICE,
    CODE,
    LESSON,
    OTHER_CODE,
    OTHER_LESSON,
    TEXT,
    app_client,
    bearer,
    login,
    mark_op,
    now_iso,
    push,
    save_op,
    sql,
)

OTHER = CHOICE

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


def new_window(pg_url: str) -> None:
    """Let the minute run out without waiting for it: forget every counted window."""
    sql(pg_url, "DELETE FROM rate_limit_windows")


def outcomes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["outcome"] for r in response.json()["results"]]


def check_op(code: str) -> dict:
    return {
        "op_id": str(uuid.uuid4()),
        "kind": "code.check",
        "lesson_id": LESSON,
        "activity_id": CODE,
        "payload": {"code": code},
        "client_time": now_iso(),
    }


def test_each_save_in_a_push_counts_against_activity_save(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=5")) as client:
        token = login(client, "alice")
        fresh_window(10)
        response = push(client, token, [save_op({"code": str(n)}) for n in range(8)])
        assert response.status_code == 200, response.text
        assert outcomes(response) == ["applied"] * 5 + ["rate_limited"] * 3
        deferred = response.json()["results"][5]
        assert deferred["code"] == "rate_limited"
        assert 1 <= deferred["retry_after"] <= 60
        assert "activity_save" in deferred["reason"]
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        revisions = client.get(f"/api/activity/revisions/{LESSON}/{CODE}", headers=bearer(token)).json()
        assert [r["state"]["code"] for r in revisions["revisions"]] == ["0", "1", "2", "3", "4"]


def test_saves_share_one_budget_whichever_route_carries_them(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=5")) as client:
        token = login(client, "alice")
        fresh_window(10)
        assert [save(client, bearer(token), n).status_code for n in range(3)] == [200] * 3
        assert outcomes(push(client, token, [save_op({"code": str(n)}) for n in range(4)])) == [
            "applied",
            "applied",
            "rate_limited",
            "rate_limited",
        ]
        refused = save(client, bearer(token), 9)
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"


def test_operations_left_for_later_are_applied_in_order_when_sent_again(make_settings, users, pg_url):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=3")) as client:
        token = login(client, "alice")
        fresh_window(10)
        queue = [save_op({"code": f"v{n}"}) for n in range(7)]
        while queue:
            response = push(client, token, queue)
            answered = [
                op
                for op, r in zip(queue, response.json()["results"], strict=True)
                if r["outcome"] != "rate_limited"
            ]
            assert answered == queue[: len(answered)]  # what is done is always the front of the queue
            queue = queue[len(answered) :]
            new_window(pg_url)
        revisions = client.get(f"/api/activity/revisions/{LESSON}/{CODE}", headers=bearer(token)).json()
        assert [r["state"]["code"] for r in revisions["revisions"]] == [f"v{n}" for n in range(7)]
        assert client.get(SAVE, headers=bearer(token)).json()["state"] == {"code": "v6"}


def test_a_replayed_push_costs_nothing_from_the_budget(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=4")) as client:
        token = login(client, "alice")
        fresh_window(10)
        batch = [save_op({"code": str(n)}) for n in range(4)]
        assert outcomes(push(client, token, batch)) == ["applied"] * 4
        assert outcomes(push(client, token, batch)) == ["duplicate"] * 4
        assert outcomes(push(client, token, batch)) == ["duplicate"] * 4


def test_a_replayed_check_costs_nothing_from_the_run_budget(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="python_run=1")) as client:
        token = login(client, "alice")
        fresh_window(10)
        code = "def to_minutes(seconds):\n    return seconds // 60\n"
        check = check_op(code)
        assert outcomes(push(client, token, [save_op({"code": code}), check])) == ["applied", "applied"]
        assert outcomes(push(client, token, [check])) == ["duplicate"]
        assert outcomes(push(client, token, [{**check, "op_id": str(uuid.uuid4())}])) == ["rate_limited"]


def test_a_check_waits_behind_its_save_when_the_save_is_over_the_limit(make_settings, users, pg_url):
    """Budgets are per kind: a check must not go ahead of the save that holds its code (it would be
    refused for good, "no saved version holds this code"). Found by the fault suite."""
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="activity_save=1,python_run=100")) as client:
        token = login(client, "alice")
        fresh_window(10)
        code = "def to_minutes(seconds):\n    return seconds // 60\n"
        check = check_op(code)
        other_check = {**check, "op_id": str(uuid.uuid4()), "lesson_id": OTHER_LESSON}
        other_check["activity_id"] = OTHER_CODE
        batch = [save_op({"code": "first"}), save_op({"code": code}), check]
        response = push(client, token, batch)
        assert outcomes(response) == ["applied", "rate_limited", "rate_limited"]
        assert "waits behind an earlier change" in response.json()["results"][2]["reason"]
        new_window(pg_url)
        assert outcomes(push(client, token, batch[1:])) == ["applied", "applied"]
        assert sql(pg_url, "SELECT revision, status FROM code_checks") == [(2, "queued")]  # no sandbox here
        # A check of another activity is not held back by this one's deferred save.
        fresh_window(10)
        held = push(client, token, [save_op({"code": "x"}), save_op({"code": "y"}), other_check])
        assert outcomes(held)[:2] == ["rate_limited", "rate_limited"]
        assert outcomes(held)[2] == "rejected"  # not held: refused at once, it names no saved code


def test_each_mark_in_a_push_counts_against_mark_activity(make_settings, users):
    pupil = users.add("alice", "pupil")
    teacher = users.add("teach", "teacher")
    users.enrol("12A", teacher, [pupil])
    with app_client(make_settings(POST16_RATE_LIMITS="mark_activity=2")) as client:
        token = login(client, "teach")
        fresh_window(10)
        marks = [mark_op(pupil, 1), mark_op(pupil, 2, activity=OTHER), mark_op(pupil, 3, activity=TEXT)]
        assert outcomes(push(client, token, marks)) == ["applied", "applied", "rate_limited"]
        single = client.post(
            f"/api/marks/{pupil}/{LESSON}/{CODE}", headers=bearer(token), json={"score": 0, "max_score": 3}
        )
        assert single.status_code == 429


def test_a_push_that_saves_nothing_new_is_one_request_against_the_default_limit(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="default=3,activity_save=100")) as client:
        token = login(client, "alice")
        fresh_window(10)
        statuses = [push(client, token, []).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


def test_a_push_refused_by_its_request_limit_spends_none_of_the_save_budget(make_settings, users):
    users.add("alice", "pupil")
    with app_client(make_settings(POST16_RATE_LIMITS="default=1,activity_save=3")) as client:
        token = login(client, "alice")
        fresh_window(10)
        assert (
            outcomes(push(client, token, [save_op({"code": "a"}), save_op({"code": "b"})])) == ["applied"] * 2
        )
        assert push(client, token, [save_op({"code": "c"})]).status_code == 429
        assert [save(client, bearer(token), n).status_code for n in range(2)] == [200, 429]


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
