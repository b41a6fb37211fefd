"""The collection: one transaction helper that commits all or nothing, rows by column name, the parts
reachable from the one Store."""

from __future__ import annotations

import sqlite3

import pytest

from desktop.core.store import CacheManager, LessonManager, MarkManager, OutboxManager, PullManager, Store


def test_store_hands_its_work_to_one_part_of_each_kind(store: Store) -> None:
    assert isinstance(store.lessons, LessonManager)
    assert isinstance(store.outbox, OutboxManager)
    assert isinstance(store.pull, PullManager)
    assert isinstance(store.marks, MarkManager)
    assert isinstance(store.cache, CacheManager)


def test_a_failure_inside_a_transaction_leaves_nothing_behind(store: Store) -> None:
    def half_done() -> None:
        with store._transaction() as conn:
            store.set_meta_in(conn, "half-done", "yes")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        half_done()
    assert store.get_meta("half-done") is None


def test_a_part_writing_in_anothers_transaction_commits_with_it(store: Store) -> None:
    store.outbox.queue_mark(4, "variables", "text-1", score=1, max_score=2, feedback="")
    assert store.marks.get(4, "variables", "text-1") is not None
    assert store.marks.pending(4, "variables", "text-1")
    assert store.outbox.pending_count() == 1


def test_rows_are_read_by_column_name(store: Store) -> None:
    row = store._connection().execute("SELECT key, value FROM meta WHERE key = 'user_id'").fetchone()
    assert isinstance(row, sqlite3.Row)
    assert (row["key"], row["value"]) == ("user_id", "3")
