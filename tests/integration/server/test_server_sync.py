"""The offline-first sync invariants (docs/architecture.md) on real PostgreSQL: at-most-once push, the
conflict rule, every version kept, rejected operations that block nothing, clamped client clocks, a pull
cursor that walks every change exactly once, and feeds that only carry what the caller may see."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from server_helpers import (
    CHOICE,
    CODE,
    LESSON,
    OTHER_CODE,
    OTHER_LESSON,
    TEXT,
    bearer,
    login,
    mark_op,
    pull_all,
    pull_until,
    push,
    push_body,
    save_op,
    sql,
)

STATE = f"/api/activity/state/{LESSON}/{CODE}"
REVISIONS = f"/api/activity/revisions/{LESSON}/{CODE}"


@pytest.fixture
def alice(client, users) -> str:  # type: ignore[no-untyped-def]
    users.add("alice", "pupil")
    return login(client, "alice")


def at(minutes: float) -> str:
    """A client time `minutes` from now (negative: in the past)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def revisions(client, token: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = client.get(REVISIONS, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["revisions"]


def current(client, token: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(STATE, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def test_pushed_answer_is_applied_and_becomes_the_current_answer(client, alice):
    response = push(client, alice, [save_op({"code": "print(1)"})])
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["outcome"] == "applied"
    assert result["revision"] == 1
    assert current(client, alice)["state"] == {"code": "print(1)"}


def test_replayed_push_is_answered_duplicate_with_the_same_revision_and_changes_nothing(client, alice):
    operation = save_op({"code": "first"}, client_time=at(-10))
    first = push(client, alice, [operation]).json()["results"][0]
    push(client, alice, [save_op({"code": "second"}, client_time=at(-5))])
    again = push(client, alice, [operation]).json()["results"][0]
    assert again["outcome"] == "duplicate"
    assert again["revision"] == first["revision"]
    assert current(client, alice)["state"] == {"code": "second"}
    assert len(revisions(client, alice)) == 2


def test_the_same_operation_twice_in_one_batch_is_applied_once(client, alice):
    operation = save_op({"code": "once"})
    results = push(client, alice, [operation, operation]).json()["results"]
    assert [r["outcome"] for r in results] == ["applied", "duplicate"]
    assert results[0]["revision"] == results[1]["revision"]
    assert len(revisions(client, alice)) == 1


def test_late_push_of_an_older_answer_does_not_replace_the_newer_one(client, alice):
    push(client, alice, [save_op({"code": "typed later"}, client_time=at(-1))])
    push(client, alice, [save_op({"code": "typed earlier"}, client_time=at(-30))])
    assert current(client, alice)["state"] == {"code": "typed later"}
    kept = revisions(client, alice)
    assert [r["state"]["code"] for r in kept] == ["typed later", "typed earlier"]
    assert [r["current"] for r in kept] == [True, False]


def test_reordered_operations_in_one_batch_follow_client_time(client, alice):
    newer = save_op({"code": "newer"}, client_time=at(-2))
    older = save_op({"code": "older"}, client_time=at(-20))
    push(client, alice, [newer, older])
    assert current(client, alice)["state"] == {"code": "newer"}


@pytest.mark.parametrize("order", ["low-first", "high-first"])
def test_same_client_time_is_decided_by_the_larger_operation_id(client, alice, order):
    when = at(-3)
    low = save_op({"code": "low"}, client_time=when, op_id=uuid.UUID("00000000-0000-4000-8000-000000000001"))
    high = save_op(
        {"code": "high"}, client_time=when, op_id=uuid.UUID("ffffffff-0000-4000-8000-000000000001")
    )
    batches = [[low], [high]] if order == "low-first" else [[high], [low]]
    for batch in batches:
        push(client, alice, batch)
    assert current(client, alice)["state"] == {"code": "high"}


def test_every_accepted_version_is_kept_as_a_revision(client, alice):
    for n in range(3):
        push(client, alice, [save_op({"code": f"v{n}"}, client_time=at(n - 10))])
    client.post(STATE, headers=bearer(alice), json={"state": {"code": "v3"}})
    kept = revisions(client, alice)
    assert [r["revision"] for r in kept] == [1, 2, 3, 4]
    assert [r["state"]["code"] for r in kept] == ["v0", "v1", "v2", "v3"]
    assert [r["current"] for r in kept] == [False, False, False, True]


def test_restoring_an_earlier_revision_makes_it_current_and_loses_nothing(client, alice):
    push(client, alice, [save_op({"code": "good"}, client_time=at(-10))])
    push(client, alice, [save_op({"code": "broken"}, client_time=at(-5))])
    response = client.post(
        f"/api/activity/restore/{LESSON}/{CODE}", headers=bearer(alice), json={"revision": 1}
    )
    assert response.status_code == 200, response.text
    assert current(client, alice)["state"] == {"code": "good"}
    assert [r["state"]["code"] for r in revisions(client, alice)] == ["good", "broken", "good"]


def test_rejected_operation_does_not_block_the_others_and_says_why(client, alice):
    operations = [
        save_op({"code": "before"}),
        save_op({"code": "lost?"}, activity="no-such-activity"),
        save_op({"text": "after"}, activity=TEXT),
    ]
    results = push(client, alice, operations).json()["results"]
    assert [r["outcome"] for r in results] == ["applied", "rejected", "applied"]
    assert "no-such-activity" in results[1]["reason"]
    assert current(client, alice)["state"] == {"code": "before"}
    text = client.get(f"/api/activity/state/{LESSON}/{TEXT}", headers=bearer(alice))
    assert text.json()["state"] == {"text": "after"}


def test_rejected_operation_replayed_is_rejected_again_for_the_same_reason(client, alice):
    bad = save_op({"selected": [99]}, activity=CHOICE)
    first = push(client, alice, [bad]).json()["results"][0]
    again = push(client, alice, [bad]).json()["results"][0]
    assert first["outcome"] == again["outcome"] == "rejected"
    assert again["reason"] == first["reason"]
    assert "selected" in first["reason"]


def test_answer_of_the_wrong_shape_for_its_activity_is_rejected(client, alice):
    results = push(
        client,
        alice,
        [
            save_op({"text": "not code"}),
            save_op({"selected": "0"}, activity=CHOICE),
            save_op({"text": 42}, activity=TEXT),
        ],
    ).json()["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * 3
    assert [r["reason"].split(":")[0] for r in results] == ["state.code", "state.selected", "state.text"]


def test_client_time_in_the_future_is_clamped_to_server_time(client, alice):
    push(client, alice, [save_op({"code": "clock a year fast"}, client_time=at(365 * 24 * 60))])
    stored = current(client, alice)
    client_time = datetime.fromisoformat(stored["client_time"])
    assert client_time <= datetime.fromisoformat(stored["received_at"]) + timedelta(seconds=1)
    # So a later answer from a laptop with a correct clock still wins.
    push(client, alice, [save_op({"code": "correct clock"}, client_time=at(0.05))])
    assert current(client, alice)["state"] == {"code": "correct clock"}


@pytest.mark.parametrize(
    "client_time", ["yesterday", "2026-01-01T10:00:00", "2026-13-01T10:00:00Z", "", None]
)
def test_malformed_client_time_is_refused_naming_the_field(client, alice, client_time):
    operation = save_op({"code": "x"})
    operation["client_time"] = client_time
    response = push(client, alice, [operation])
    assert response.status_code == 400
    assert "client_time" in response.json()["detail"]
    assert client.get(STATE, headers=bearer(alice)).status_code == 404


def test_operation_id_used_by_another_account_is_not_applied_to_either(client, users, alice):
    users.add("bob", "pupil")
    bob = login(client, "bob")
    operation = save_op({"code": "alice's"})
    push(client, alice, [operation])
    [result] = push(client, bob, [{**operation, "payload": {"state": {"code": "bob's"}}}]).json()["results"]
    assert result["outcome"] == "rejected"
    assert client.get(STATE, headers=bearer(bob)).status_code == 404
    assert current(client, alice)["state"] == {"code": "alice's"}


def test_pull_in_small_pages_walks_every_change_exactly_once(client, alice):
    for n in range(7):
        push(client, alice, [save_op({"code": f"v{n}"}, client_time=at(n - 10))])
    items, cursor = pull_until(client, alice, 7, limit=2)
    answers = [i["state"]["code"] for i in items if i["type"] == "revision"]
    assert answers == [f"v{n}" for n in range(7)]
    assert len({i["cursor"] for i in items}) == len(items)
    assert pull_all(client, alice, cursor)[0] == []
    push(client, alice, [save_op({"text": f"t{n}"}, activity=TEXT) for n in range(3)])
    later, _ = pull_until(client, alice, 3, cursor=cursor, limit=2)
    assert [i["state"]["text"] for i in later] == ["t0", "t1", "t2"]


def test_pull_tells_which_revision_is_current(client, alice):
    push(client, alice, [save_op({"code": "new"}, client_time=at(-1))], device_id="laptop-1")
    push(client, alice, [save_op({"code": "old"}, client_time=at(-9))], device_id="laptop-2")
    items, _ = pull_until(client, alice, 2)
    flags = {i["state"]["code"]: (i["current"], i["device_id"]) for i in items if i["type"] == "revision"}
    assert flags == {"new": (True, "laptop-1"), "old": (False, "laptop-2")}


@pytest.mark.parametrize("cursor", ["garbage", "YzE6eDp5", "Yzk6MTox", "%%%", "a" * 150])
def test_bad_cursor_is_refused_naming_the_cursor(client, alice, cursor):
    response = client.get("/api/sync/pull", headers=bearer(alice), params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["field"] == "cursor"


def test_a_pupils_pull_never_contains_another_pupils_answers(client, users, alice):
    users.add("bob", "pupil")
    bob = login(client, "bob")
    push(client, alice, [save_op({"code": "alice secret"})])
    push(client, bob, [save_op({"code": "bob's own"})])
    items, _ = pull_until(client, bob, 1)
    assert "alice secret" not in str(items)
    assert [i["state"]["code"] for i in items if i["type"] == "revision"] == ["bob's own"]


def test_teachers_pull_contains_their_pupils_answers_only(client, users):
    alice_id = users.add("alice", "pupil")
    bob_id = users.add("bob", "pupil")
    users.enrol("12A", users.add("teach", "teacher"), [alice_id])
    users.enrol("12B", users.add("other", "teacher"), [bob_id])
    alice, bob, teacher = (login(client, name) for name in ("alice", "bob", "teach"))
    push(client, bob, [save_op({"code": "from bob"})])
    push(client, alice, [save_op({"code": "from alice"})])
    items, _ = pull_until(client, teacher, 1)
    revisions_seen = [(i["pupil_id"], i["state"]["code"]) for i in items if i["type"] == "revision"]
    assert revisions_seen == [(alice_id, "from alice")]


def test_teachers_mark_pushed_while_offline_reaches_the_pupil(client, users):
    alice_id = users.add("alice", "pupil")
    users.enrol("12A", users.add("teach", "teacher"), [alice_id])
    alice, teacher = login(client, "alice"), login(client, "teach")
    push(client, alice, [save_op({"code": "print(42)"})])
    _, cursor = pull_until(client, alice, 1)
    [result] = push(client, teacher, [mark_op(alice_id, 2.5, feedback="nearly")]).json()["results"]
    assert result["outcome"] == "applied"
    items, _ = pull_until(client, alice, 1, kind="mark", cursor=cursor)
    marks = [i["mark"] for i in items if i["type"] == "mark"]
    assert [(m["score"], m["max_score"], m["feedback"], m["marker"]) for m in marks] == [
        (2.5, 3, "nearly", "teach")
    ]
    assert [m["feedback"] for m in client.get("/api/marks", headers=bearer(alice)).json()] == ["nearly"]


def test_replayed_mark_is_answered_duplicate(client, users):
    alice_id = users.add("alice", "pupil")
    users.enrol("12A", users.add("teach", "teacher"), [alice_id])
    teacher = login(client, "teach")
    operation = mark_op(alice_id, 1, lesson=OTHER_LESSON, activity=OTHER_CODE, max_score=4)
    first = push(client, teacher, [operation]).json()["results"][0]
    again = push(client, teacher, [operation]).json()["results"][0]
    assert (first["outcome"], again["outcome"]) == ("applied", "duplicate")


def test_teacher_push_of_answers_is_rejected_not_applied(client, users):
    users.add("teach", "teacher")
    teacher = login(client, "teach")
    [result] = push(client, teacher, [save_op({"code": "x"})]).json()["results"]
    assert result["outcome"] == "rejected"


def test_outdated_protocol_header_is_refused_with_426(client, alice):
    response = client.get("/api/lessons", headers={**bearer(alice), "X-Post16-Protocol": "0"})
    assert response.status_code == 426
    assert response.json()["code"] == "protocol_outdated"


def test_outdated_protocol_in_a_push_is_refused_with_426_and_applies_nothing(client, alice):
    body = push_body([save_op({"code": "x"})], protocol=0)
    response = client.post("/api/sync/push", headers=bearer(alice), json=body)
    assert response.status_code == 426
    assert response.json()["code"] == "protocol_outdated"
    assert client.get(STATE, headers=bearer(alice)).status_code == 404


def test_current_protocol_header_is_accepted(client, alice):
    response = client.get("/api/lessons", headers={**bearer(alice), "X-Post16-Protocol": "1"})
    assert response.status_code == 200


@pytest.mark.slow
def test_the_same_answer_sent_many_times_at_once_is_saved_once_and_never_fails(make_server, pg_url, users):
    """An applied save is claimed by its revision's unique op id (server.domain.sync.pg_saves): copies of
    one save racing on two workers, each sent beside a fresh save of another activity (so the copies
    share statements with other requests' saves), are answered `applied` once and `duplicate` after;
    every fresh save is kept."""
    users.add("alice", "pupil")
    server = make_server(pg_url, workers=2)
    with httpx.Client(base_url=server.url) as http:
        sessions = [login(http, "alice") for _ in range(4)]  # her laptops
    raced = save_op({"code": "print('raced')"})

    def send(n: int) -> tuple[int, list[str]]:
        fresh = save_op({"text": f"answer {n}"}, activity=TEXT)
        response = httpx.post(
            f"{server.url}/api/sync/push",
            headers=bearer(sessions[n % len(sessions)]),
            json=push_body([raced, fresh], device_id=f"laptop-{n % 4}"),
            timeout=30,
        )
        if response.status_code != 200:
            return response.status_code, [response.text]
        return response.status_code, [result["outcome"] for result in response.json()["results"]]

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, range(24)))
    assert [status for status, _ in answers] == [200] * 24, answers
    assert sorted(outcomes[0] for _, outcomes in answers) == ["applied"] + ["duplicate"] * 23
    assert [outcomes[1] for _, outcomes in answers] == ["applied"] * 24
    assert sql(pg_url, "SELECT count(*) FROM activity_revisions WHERE op_id = %s", raced["op_id"]) == [(1,)]
    assert sql(pg_url, "SELECT activity_id, revision_count FROM activity_states ORDER BY activity_id") == [
        (CODE, 1),
        (TEXT, 24),
    ]
    numbers = sql(pg_url, "SELECT revision FROM activity_revisions WHERE activity_id = %s ORDER BY 1", TEXT)
    assert [number for (number,) in numbers] == list(range(1, 25))  # each kept, numbered without a gap
    assert sql(pg_url, "SELECT count(*) FROM sync_events WHERE kind = 'revision'") == [(25,)]


@pytest.mark.slow
def test_the_same_mark_sent_many_times_at_once_is_applied_once_and_never_fails(make_server, pg_url, users):
    """A laptop's retry can race its original (a timeout while the server was still working): every
    copy is answered, one `applied`, the rest `duplicate`; one mark, one ledger row, one audit entry."""
    alice_id = users.add("alice", "pupil")
    users.enrol("12A", users.add("teach", "teacher"), [alice_id])
    server = make_server(pg_url, workers=2)
    with httpx.Client(base_url=server.url) as http:
        sessions = [login(http, "teach") for _ in range(4)]  # the teacher's laptops, or a token refreshed
    operation = mark_op(alice_id, 2, feedback="raced")

    def send(n: int) -> tuple[int, str]:
        token = sessions[n % len(sessions)]
        response = httpx.post(
            f"{server.url}/api/sync/push", headers=bearer(token), json=push_body([operation]), timeout=30
        )
        if response.status_code != 200:
            return response.status_code, response.text
        return response.status_code, response.json()["results"][0]["outcome"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, range(24)))
    assert [status for status, _ in answers] == [200] * 24, answers
    outcomes = sorted(outcome for _, outcome in answers)
    assert outcomes == ["applied"] + ["duplicate"] * 23
    op_id = operation["op_id"]
    assert sql(pg_url, "SELECT count(*) FROM sync_operations WHERE op_id = %s", op_id) == [(1,)]
    assert sql(pg_url, "SELECT count(*) FROM audit_log WHERE action = 'mark.changed'") == [(1,)]
    assert sql(pg_url, "SELECT score, feedback FROM marks") == [(2.0, "raced")]
