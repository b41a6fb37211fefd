"""The local store: durable saves, outbox acknowledgements, rejections, migrations, corruption."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.core.errors import StoreError, StoreFullError
from desktop.core.store import SCHEMA_VERSION, Store
from shared.lessons.model import Lesson
from shared.wire.marks import Mark
from shared.wire.sync import MarkEvent, OperationResult, RevisionEvent

LessonFactory = Callable[..., Lesson]


def _applied(op_id: uuid.UUID, revision: int = 1) -> OperationResult:
    return OperationResult(op_id=op_id, outcome="applied", revision=revision, received_at=datetime.now(UTC))


def test_saved_answer_is_on_disk_with_its_queued_operation(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite3"
    store = Store.open(path)
    store.outbox.save_answer("variables", "code-1", {"code": "print(3)"})
    # A different connection (another process would see the same) reads it back at once.
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT state FROM answers").fetchone()[0] == '{"code": "print(3)"}'
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    store.close()


def test_store_uses_full_synchronous_writes(store: Store) -> None:
    assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_saved_answer_survives_the_process_being_killed(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from desktop.core.store import Store\n"
        f"store = Store.open(Path({str(path)!r}))\n"
        "store.outbox.save_answer('variables', 'text-1', {'text': 'kept'})\n"
        "os._exit(9)\n"  # no close, no commit hooks, no atexit
    )
    subprocess.run([sys.executable, "-c", script], check=False, cwd=Path(__file__).parents[3])
    store = Store.open(path)
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "kept"}
    assert store.outbox.pending_count() == 1
    store.close()


def test_answer_is_pending_until_acknowledged(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "hello"})
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.pending
    summary = store.outbox.acknowledge([_applied(op_id, revision=4)])
    assert summary.acknowledged == 1
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert not answer.pending
    assert answer.revision == 4
    assert store.outbox.pending_count() == 0


def test_operations_leave_the_outbox_only_for_their_own_acknowledgement(store: Store) -> None:
    first = store.outbox.save_answer("variables", "text-1", {"text": "one"})
    store.outbox.save_answer("variables", "text-1", {"text": "two"})
    store.outbox.acknowledge([_applied(first)])
    remaining = store.outbox.next_batch(10)
    assert [op.payload["state"]["text"] for op in remaining] == ["two"]


def test_late_or_replayed_acknowledgement_changes_nothing(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "one"})
    store.outbox.acknowledge([_applied(op_id)])
    receipts_before = store.outbox.receipts()
    store.outbox.save_answer("variables", "text-1", {"text": "two"})
    summary = store.outbox.acknowledge(
        [_applied(op_id), OperationResult(op_id=uuid.uuid4(), outcome="duplicate")]
    )
    assert summary.unknown == 2
    assert summary.acknowledged == 0
    assert store.outbox.pending_count() == 1
    assert store.outbox.receipts() == receipts_before


def test_duplicate_acknowledgement_counts_as_delivered(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "one"})
    store.outbox.acknowledge([OperationResult(op_id=op_id, outcome="duplicate", revision=1)])
    assert store.outbox.pending_count() == 0
    assert [r.outcome for r in store.outbox.receipts()] == ["duplicate"]


def test_rejected_operation_is_kept_with_its_reason(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "gone", {"text": "my work"})
    store.outbox.acknowledge(
        [
            OperationResult(
                op_id=op_id, outcome="rejected", reason="That activity no longer exists.", code="nf"
            )
        ]
    )
    assert store.outbox.pending_count() == 0
    [rejected] = store.outbox.rejected_operations()
    assert rejected.op_id == op_id
    assert rejected.reason == "That activity no longer exists."
    assert rejected.payload == {"state": {"text": "my work"}}


def test_receipt_records_time_saved_and_time_received(store: Store) -> None:
    saved_at = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    received_at = saved_at + timedelta(minutes=5)
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "x"}, now=saved_at)
    store.outbox.acknowledge(
        [OperationResult(op_id=op_id, outcome="applied", revision=1, received_at=received_at)]
    )
    [receipt] = store.outbox.receipts()
    assert (receipt.activity_id, receipt.client_time, receipt.received_at) == (
        "text-1",
        saved_at,
        received_at,
    )


def test_batches_come_out_oldest_first_and_bounded(store: Store) -> None:
    ids = [store.outbox.save_answer("variables", "text-1", {"text": str(i)}) for i in range(7)]
    assert [op.op_id for op in store.outbox.next_batch(5)] == ids[:5]


def test_server_revision_replaces_answer_when_nothing_is_queued(store: Store) -> None:
    op_id = store.outbox.save_answer("variables", "text-1", {"text": "mine"})
    store.outbox.acknowledge([_applied(op_id)])
    event = _revision_event(pupil_id=3, state={"text": "from my other laptop"}, revision=2)
    applied = store.pull.apply([event], "1")
    assert applied.answers_replaced == [("variables", "text-1")]
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "from my other laptop"}
    assert store.pull.cursor() == "1"


def test_server_revision_never_overwrites_a_queued_local_change(store: Store) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "typed offline"})
    store.pull.apply([_revision_event(pupil_id=3, state={"text": "older"}, revision=1)], "1")
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "typed offline"}


def test_another_pupils_revision_never_touches_my_answers(store: Store) -> None:
    store.pull.apply([_revision_event(pupil_id=99, state={"text": "theirs"}, revision=1)], "1")
    assert store.outbox.answer("variables", "text-1") is None
    assert store.pull.revisions(99, "variables", "text-1")[0].state == {"text": "theirs"}


def test_new_mark_is_reported_once(store: Store) -> None:
    mark = _mark(score=1.0)
    first = store.pull.apply([MarkEvent(cursor="1", mark=mark)], "1")
    again = store.pull.apply([MarkEvent(cursor="2", mark=mark)], "2")
    assert first.new_marks == [mark]
    assert again.new_marks == []
    assert store.marks.get(3, "variables", "text-1") == mark


def test_teacher_mark_is_queued_and_not_overwritten_until_sent(store: Store) -> None:
    store.outbox.queue_mark(3, "variables", "text-1", score=2, max_score=3, feedback="Good")
    store.pull.apply([MarkEvent(cursor="1", mark=_mark(score=0.0))], "1")
    mark = store.marks.get(3, "variables", "text-1")
    assert mark is not None
    assert mark.score == 2
    assert store.marks.pending(3, "variables", "text-1")
    [operation] = store.outbox.next_batch(10)
    assert (operation.kind, operation.pupil_id, operation.payload["feedback"]) == ("mark.set", 3, "Good")


def test_lesson_cache_opens_offline_and_reports_what_to_fetch(
    store: Store, make_lesson: LessonFactory
) -> None:
    lesson = make_lesson()
    assert store.lessons.save_index([lesson.to_summary()]) == ["variables"]
    store.lessons.save(lesson)
    assert store.lessons.save_index([lesson.to_summary()]) == []
    cached = store.lessons.get("variables")
    assert cached is not None
    assert cached.activities[0].id == "code-1"
    newer = make_lesson(version="v2")
    assert store.lessons.save_index([newer.to_summary()]) == ["variables"]


def test_new_database_is_at_the_current_schema_version(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION


def test_database_from_a_newer_app_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer version"):
        Store.open(path)
    assert path.exists()


def test_corrupt_database_is_moved_aside_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    store = Store.open(path)
    assert store.recovered_from is not None
    assert store.recovered_from.exists()
    assert store.recovered_from.read_bytes().startswith(b"this is not sqlite")
    assert store.outbox.pending_count() == 0
    store.outbox.save_answer("variables", "text-1", {"text": "works again"})
    store.close()


def test_queue_is_salvaged_from_a_damaged_database(tmp_path: Path, make_lesson: LessonFactory) -> None:
    path = tmp_path / "damaged.sqlite3"
    store = Store.open(path)
    store.lessons.save(make_lesson())
    store.outbox.save_answer("variables", "text-1", {"text": "precious"})
    store._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    # Overwrite the lesson cache's root page with garbage; the outbox's pages stay readable.
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'lessons'").fetchone()[0]
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    recovered = Store.open(path)
    assert recovered.recovered_from is not None
    [operation] = recovered.outbox.next_batch(10)
    assert operation.payload == {"state": {"text": "precious"}}
    recovered.close()


def test_full_disk_raises_a_plain_error_and_keeps_earlier_work(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "full.sqlite3")
    store.outbox.save_answer("variables", "text-1", {"text": "fits"})
    conn = store._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreFullError, match="disk is full"):
        store.outbox.save_answer("variables", "text-1", {"text": "x" * 200_000})
    conn.execute("PRAGMA max_page_count = 1000000")
    assert store.outbox.next_batch(1)[0].payload == {"state": {"text": "fits"}}
    store.close()


def _revision_event(*, pupil_id: int, state: dict[str, str], revision: int) -> RevisionEvent:
    moment = datetime.now(UTC)
    return RevisionEvent(
        cursor=str(revision),
        pupil_id=pupil_id,
        lesson_id="variables",
        activity_id="text-1",
        revision=revision,
        state=state,
        client_time=moment,
        received_at=moment,
        op_id=uuid.uuid4(),
        device_id="other",
        current=True,
    )


def _mark(score: float) -> Mark:
    return Mark(
        pupil_id=3,
        lesson_id="variables",
        activity_id="text-1",
        score=score,
        max_score=1.0,
        feedback="Well argued",
        source="teacher",
        marker="teacher",
        marked_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
