"""Lesson updates (issue 9): a new version reaches the cache without losing answers; answers to removed
activities and removed lessons are kept and reported as archived, read-only."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import sqlite_utils
from desktop_fakes import FakeServer

from desktop.core.engine import SyncEngine
from desktop.core.store import MIGRATIONS, SCHEMA_VERSION, Store
from shared.lessons.model import ActivityBlock, Lesson, TextActivity
from shared.wire.sync import LessonEvent

LessonFactory = Callable[..., Lesson]


def _without(lesson: Lesson, activity_id: str, version: str) -> Lesson:
    """The next version of `lesson` with one activity taken out (and its place in the text)."""
    return msgspec.structs.replace(
        lesson,
        version=version,
        title=f"{lesson.title} (revised)",
        blocks=[
            b for b in lesson.blocks if not (isinstance(b, ActivityBlock) and b.activity_id == activity_id)
        ],
        activities=[a for a in lesson.activities if a.id != activity_id],
    )


def _cache(store: Store, lesson: Lesson) -> None:
    store.lessons.save_index([lesson.to_summary()])
    store.lessons.save(lesson)


# -- the store --------------------------------------------------------------------------------------


def test_answer_to_an_activity_a_new_version_drops_is_kept_as_archived(
    store: Store, make_lesson: LessonFactory
) -> None:
    first = make_lesson()
    _cache(store, first)
    store.outbox.save_answer("variables", "code-1", {"code": "print(3)"})
    store.outbox.save_answer("variables", "text-1", {"text": "because"})
    assert store.lessons.archived_answers() == []

    second = _without(first, "text-1", "v2")
    store.lessons.save_index([second.to_summary()])
    store.lessons.save(second)

    cached = store.lessons.get("variables")
    assert cached is not None
    assert cached.version == "v2"
    [archived] = store.lessons.archived_answers("variables")
    assert (archived.activity_id, archived.state, archived.lesson_removed) == (
        "text-1",
        {"text": "because"},
        False,
    )
    assert isinstance(archived.activity, TextActivity)
    assert archived.title == "Explain"  # the question as it was last served
    assert archived.pending  # its save still waits to be sent: the server decides
    kept = store.outbox.answer("variables", "code-1")
    assert kept is not None
    assert kept.state == {"code": "print(3)"}


def test_activity_that_comes_back_takes_its_answer_back(store: Store, make_lesson: LessonFactory) -> None:
    first = make_lesson()
    _cache(store, first)
    store.outbox.save_answer("variables", "text-1", {"text": "because"})
    _cache(store, _without(first, "text-1", "v2"))
    assert [a.activity_id for a in store.lessons.archived_answers()] == ["text-1"]
    _cache(store, msgspec.structs.replace(first, version="v3"))
    assert store.lessons.archived_answers() == []
    answer = store.outbox.answer("variables", "text-1")
    assert answer is not None
    assert answer.state == {"text": "because"}


def test_removed_lesson_keeps_its_content_and_answers_as_archived(
    store: Store, make_lesson: LessonFactory
) -> None:
    lesson = make_lesson()
    _cache(store, lesson)
    store.outbox.save_answer("variables", "choice-1", {"selected": [1]})
    store.pull.apply(
        [LessonEvent(cursor="1", lesson_id="variables", version="v1", removed=True)], next_cursor="1"
    )
    assert store.lessons.summaries() == []
    assert store.lessons.removed("variables")
    [archived] = store.lessons.archived_answers()
    assert archived.lesson_removed
    assert archived.lesson_title == "Lesson variables"
    assert archived.activity is not None
    assert archived.activity.title == "Pick"
    assert archived.state == {"selected": [1]}
    # Not fetched again while it is gone; back in the list, it is live again with its answer.
    assert store.lessons.save_index([]) == []
    assert store.lessons.stale() == []
    store.lessons.save_index([lesson.to_summary()])
    assert store.lessons.archived_answers() == []
    assert not store.lessons.removed("variables")


def test_answer_to_a_lesson_the_list_no_longer_has_is_archived(
    store: Store, make_lesson: LessonFactory
) -> None:
    _cache(store, make_lesson())
    store.outbox.save_answer("variables", "text-1", {"text": "kept"})
    store.lessons.save_index([make_lesson("other").to_summary()])
    assert [(a.lesson_id, a.lesson_removed) for a in store.lessons.archived_answers()] == [
        ("variables", True)
    ]
    assert [s.id for s in store.lessons.summaries()] == ["other"]


def test_answers_are_not_archived_before_the_lesson_list_has_arrived(store: Store) -> None:
    store.outbox.save_answer("variables", "text-1", {"text": "early"})
    assert store.lessons.archived_answers() == []


def test_schema_1_database_is_migrated_and_keeps_its_lessons_and_answers(
    tmp_path: Path, make_lesson: LessonFactory
) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    MIGRATIONS[0](sqlite_utils.Database(conn))
    lesson = make_lesson()
    conn.execute(
        "INSERT INTO lessons (id, position, version, summary, content, content_version, stale) "
        "VALUES (?, 0, 'v1', ?, ?, 'v1', 0)",
        (
            "variables",
            msgspec.json.encode(lesson.to_summary()).decode(),
            msgspec.json.encode(lesson).decode(),
        ),
    )
    conn.execute(
        "INSERT INTO answers VALUES ('variables', 'text-1', '{\"text\": \"old\"}', ?, 4, ?)",
        (datetime.now(UTC).isoformat(), datetime.now(UTC).isoformat()),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()

    store = Store.open(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert [s.id for s in store.lessons.summaries()] == ["variables"]
        answer = store.outbox.answer("variables", "text-1")
        assert answer is not None
        assert answer.state == {"text": "old"}
    finally:
        store.close()


# -- the engine against the fake server ------------------------------------------------------------


def test_new_lesson_version_reaches_the_cache_at_the_next_sync_and_archives_dropped_answers(
    engine: SyncEngine, store: Store, server: FakeServer, make_lesson: LessonFactory
) -> None:
    engine.sync_once()
    store.outbox.save_answer("variables", "code-1", {"code": "print(3)"})
    store.outbox.save_answer("variables", "text-1", {"text": "because"})
    engine.sync_once()

    server.lessons["variables"] = _without(make_lesson(), "text-1", "v2")
    server.add_event({"type": "lesson", "lesson_id": "variables", "version": "v2"})
    report = engine.sync_once()

    assert report.answers_archived == [("variables", "text-1")]
    assert "variables" in report.lessons_updated
    cached = store.lessons.get("variables")
    assert cached is not None
    assert (cached.version, cached.title) == ("v2", "Lesson variables (revised)")
    kept = store.outbox.answer("variables", "code-1")
    assert kept is not None
    assert (kept.state, kept.pending) == ({"code": "print(3)"}, False)
    [archived] = store.lessons.archived_answers()
    assert (archived.activity_id, archived.state, archived.revision) == ("text-1", {"text": "because"}, 1)
    assert engine.sync_once().answers_archived == []  # reported once


def test_queued_answer_to_a_removed_activity_is_refused_and_kept_as_archived(
    engine: SyncEngine, store: Store, server: FakeServer, make_lesson: LessonFactory
) -> None:
    engine.sync_once()
    server.offline = True
    store.outbox.save_answer("variables", "text-1", {"text": "written offline"})
    server.offline = False
    server.lessons["variables"] = _without(make_lesson(), "text-1", "v2")
    server.reject_activities = {"text-1"}
    server.add_event({"type": "lesson", "lesson_id": "variables", "version": "v2"})

    report = engine.sync_once()

    assert [r.activity_id for r in report.rejected] == ["text-1"]
    assert store.outbox.pending_count() == 0
    [archived] = store.lessons.archived_answers("variables")
    assert archived.state == {"text": "written offline"}
    assert archived.rejected_reason == "That activity no longer exists."
    assert not archived.pending
    assert [r.payload for r in store.outbox.rejected_operations()] == [{"state": {"text": "written offline"}}]


def test_lesson_removed_from_the_manifest_keeps_its_answers_as_archived(
    engine: SyncEngine, store: Store, server: FakeServer
) -> None:
    engine.sync_once()
    store.outbox.save_answer("variables", "choice-1", {"selected": [0]})
    engine.sync_once()
    del server.lessons["variables"]
    server.add_event({"type": "lesson", "lesson_id": "variables", "version": "v1", "removed": True})

    report = engine.sync_once()

    assert report.lessons_removed == ["variables"]
    assert report.answers_archived == [("variables", "choice-1")]
    assert store.lessons.summaries() == []
    [archived] = store.lessons.archived_answers()
    assert archived.lesson_removed
    assert archived.state == {"selected": [0]}
    assert store.lessons.get("variables") is not None  # its questions can still be shown
