"""The sync engine against a fake server: batching, acknowledgements, failures, back-off, pull."""

from __future__ import annotations

import threading
import uuid

import httpx
import pytest
from desktop_fakes import FakeServer

from desktop.core.client import ApiClient
from desktop.core.engine import Backoff, SyncEngine, SyncListener, SyncLoop, SyncStatus
from desktop.core.errors import OfflineError, ProtocolOutdatedError, SessionExpiredError
from desktop.core.store import Store


def test_queued_answers_reach_the_server_and_leave_the_queue(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "one"})
    store.outbox.save_answer("variables", "code-1", {"code": "print(3)"})
    report = engine.sync_once()
    assert report.pushed == 2
    assert store.outbox.pending_count() == 0
    current = server.current(3, "variables", "code-1")
    assert current is not None
    assert current["state"] == {"code": "print(3)"}


def test_large_queue_is_pushed_in_batches_of_at_most_500(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    for i in range(1203):
        store.outbox.save_answer("variables", "text-1", {"text": str(i)})
    progress: list[tuple[int, int]] = []
    engine.push_outbox(lambda done, total: progress.append((done, total)))
    assert server.push_sizes == [500, 500, 203]
    assert progress[-1] == (1203, 1203)
    assert store.outbox.pending_count() == 0


def test_second_push_of_same_operation_changes_nothing(
    engine: SyncEngine, store: Store, server: FakeServer, client: ApiClient
) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "once"})
    [operation] = store.outbox.next_batch(1)
    client.push(store.device_id, [operation])  # the answer to this one was "lost"
    engine.push_outbox()
    assert len(server.all_revisions(3)) == 1
    assert [r.outcome for r in store.outbox.receipts()] == ["duplicate"]


def test_lost_answer_to_a_push_keeps_the_operations_for_the_next_attempt(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "x"})
    server.failures.append(httpx.ReadTimeout("server died mid-request"))
    with pytest.raises(OfflineError):
        engine.push_outbox()
    assert store.outbox.pending_count() == 1
    assert store.outbox.pending_operations()[0].attempts == 1
    engine.push_outbox()
    assert store.outbox.pending_count() == 0
    assert len(server.all_revisions(3)) == 1


def test_replayed_results_for_unknown_operations_are_ignored(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    server.replay_results = [{"op_id": str(uuid.uuid4()), "outcome": "applied", "revision": 9}]
    store.outbox.save_answer("variables", "text-1", {"text": "x"})
    report = engine.push_outbox()
    assert report.ignored_acknowledgements == 1
    assert report.pushed == 1


def test_rejected_operation_does_not_block_the_queue_and_is_kept(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    server.reject_activities = {"deleted-activity"}
    store.outbox.save_answer("variables", "deleted-activity", {"text": "lost?"})
    store.outbox.save_answer("variables", "text-1", {"text": "after it"})
    report = engine.sync_once()
    assert [r.activity_id for r in report.rejected] == ["deleted-activity"]
    assert store.outbox.pending_count() == 0
    assert store.outbox.rejected_operations()[0].payload == {"state": {"text": "lost?"}}
    assert server.current(3, "variables", "text-1") is not None


def test_batch_refused_as_a_whole_is_split_until_the_bad_operation_is_found(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    server.poison_activities = {"poison"}
    for i in range(6):
        store.outbox.save_answer("variables", "text-1", {"text": str(i)})
    store.outbox.save_answer("variables", "poison", {"text": "bad"})
    for i in range(3):
        store.outbox.save_answer("variables", "code-1", {"code": str(i)})
    report = engine.push_outbox()
    assert report.pushed == 9
    assert [r.activity_id for r in store.outbox.rejected_operations()] == ["poison"]
    assert store.outbox.pending_count() == 0


def test_server_that_acknowledges_nothing_does_not_hang_the_engine(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    server.drop_results = True
    store.outbox.save_answer("variables", "text-1", {"text": "x"})
    report = engine.push_outbox()
    assert report.problems
    assert store.outbox.pending_count() == 1


def test_expired_session_keeps_the_queue(engine: SyncEngine, store: Store, server: FakeServer) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "keep me"})
    server.sessions.clear()
    with pytest.raises(SessionExpiredError):
        engine.sync_once()
    assert store.outbox.pending_count() == 1


def test_outdated_protocol_is_reported_and_queue_kept(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "x"})
    server.failures.append(426)
    with pytest.raises(ProtocolOutdatedError, match="update"):
        engine.sync_once()
    assert store.outbox.pending_count() == 1


def test_pull_brings_marks_and_the_current_answer_from_another_device(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    other_laptop = ApiClient("http://fake.test", transport=server.transport())
    other_laptop.login("pupil", "correct-horse")
    other_store = Store.open(store.path.with_name("other.sqlite3"))
    other_store.outbox.save_answer("variables", "text-1", {"text": "written on laptop B"})
    SyncEngine(other_store, other_laptop).sync_once()
    server.set_mark(3, "variables", "text-1", 1.0, "Nice")
    report = engine.sync_once()
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "written on laptop B"}
    assert [m.feedback for m in report.new_marks] == ["Nice"]
    other_store.close()
    other_laptop.close()


def test_conflict_follows_the_servers_rule_after_pull(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(minutes=5)
    other = ApiClient("http://fake.test", transport=server.transport())
    other.login("pupil", "correct-horse")
    other_store = Store.open(store.path.with_name("b.sqlite3"))
    other_store.outbox.save_answer("variables", "text-1", {"text": "later on B"}, now=later)
    SyncEngine(other_store, other).sync_once()
    store.outbox.save_answer("variables", "text-1", {"text": "earlier on A"})  # pushed after, but older
    engine.sync_once()
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "later on B"}
    assert len(server.all_revisions(3)) == 2
    other_store.close()
    other.close()


def test_pull_cursor_advances_and_repeated_pull_applies_nothing_new(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    server.set_mark(3, "variables", "text-1", 1.0, "First")
    engine.pull_changes()
    cursor = store.pull.cursor()
    report = engine.pull_changes()
    assert store.pull.cursor() == cursor
    assert report.new_marks == []


def test_pull_pages_until_the_server_has_no_more(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    for i in range(7):
        server.set_mark(3, "variables", f"a-{i}", 1.0, str(i))
    report = engine.pull_changes(page_size=3)
    assert len(report.new_marks) == 7


def test_lessons_are_cached_for_offline_use(engine: SyncEngine, store: Store, server: FakeServer) -> None:
    engine.sync_once()
    server.offline = True
    lesson = store.lessons.get("variables")
    assert lesson is not None
    assert lesson.pupil_view


def test_unreadable_lesson_keeps_the_cached_copy(
    engine: SyncEngine, store: Store, server: FakeServer, make_lesson
) -> None:
    engine.sync_once()
    server.lessons["variables"] = make_lesson(version="v2")
    original = server.handle

    def garbage_lesson(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/lessons/variables":
            return httpx.Response(200, content=b'{"id": "variables", "blocks": 7}')
        return original(request)

    engine.client._http._transport = httpx.MockTransport(garbage_lesson)
    report = engine.refresh_lessons()
    assert report.problems
    assert "keeping the copy" in report.problems[0]
    cached = store.lessons.get("variables")
    assert cached is not None
    assert cached.version == "v1"


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    backoff = Backoff(base=1, cap=8, rng=lambda low, high: high)
    assert [backoff.next_delay() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    low = Backoff(base=1, cap=8, rng=lambda low, high: low)
    assert [low.next_delay() for _ in range(3)] == [0.5, 1, 2]


class RecordingListener(SyncListener):
    def __init__(self) -> None:
        self.statuses: list[SyncStatus] = []

    def status_changed(self, status: SyncStatus) -> None:
        self.statuses.append(status)


def test_loop_goes_offline_backs_off_and_comes_back(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    listener = RecordingListener()
    loop = SyncLoop(engine, listener, interval=60, backoff=Backoff(rng=lambda low, high: high))
    store.outbox.save_answer("variables", "text-1", {"text": "x"})
    server.offline = True
    assert loop.run_once() == 1
    assert loop.run_once() == 2
    assert listener.statuses[-1].state == "offline"
    assert listener.statuses[-1].pending == 1
    server.offline = False
    assert loop.run_once() == 60
    assert listener.statuses[-1].state == "idle"
    assert listener.statuses[-1].pending == 0
    assert listener.statuses[-1].last_sync is not None


def test_loop_waits_at_least_retry_after_when_rate_limited(engine: SyncEngine, server: FakeServer) -> None:
    server.failures.append(429)
    server.retry_after = "17"
    loop = SyncLoop(engine, backoff=Backoff(rng=lambda low, high: high))
    assert loop.run_once() == 17


def test_loop_pauses_on_expired_session_until_resumed(
    engine: SyncEngine, store: Store, server: FakeServer, client: ApiClient
) -> None:
    listener = RecordingListener()
    loop = SyncLoop(engine, listener)
    store.outbox.save_answer("variables", "text-1", {"text": "x"})
    server.sessions.clear()
    assert loop.run_once() is None
    assert listener.statuses[-1].state == "session_expired"
    assert loop.run_once() is None  # stays paused, queue untouched
    assert store.outbox.pending_count() == 1
    client.login("pupil", "correct-horse")
    loop.resume()
    assert loop.run_once() == loop.interval
    assert store.outbox.pending_count() == 0


def test_loop_survives_server_errors_and_garbage(engine: SyncEngine, server: FakeServer) -> None:
    listener = RecordingListener()
    loop = SyncLoop(engine, listener, backoff=Backoff(rng=lambda low, high: high))
    server.failures += [503, 299]
    assert loop.run_once() == 1
    assert "server had a problem" in listener.statuses[-1].message
    assert loop.run_once() == 2
    assert "cannot read" in listener.statuses[-1].message
    assert loop.run_once() == loop.interval


def test_loop_thread_stops_promptly(engine: SyncEngine) -> None:
    loop = SyncLoop(engine, interval=3600)
    thread = threading.Thread(target=loop.run)
    thread.start()
    loop.request_sync()
    loop.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
