"""`store.cache`: server views kept for offline use (a teacher's classes and progress, rendered lesson
pages), as JSON under a key, with when they were stored."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from desktop.core.store._common import encode, iso, now

if TYPE_CHECKING:
    from desktop.core.store._collection import Store

__all__ = ["CacheManager"]


class CacheManager:
    def __init__(self, store: Store) -> None:
        self._store = store

    def put(self, key: str, value: Any) -> None:
        with self._store._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO cache (key, value, stored_at) VALUES (?, ?, ?)",
                (key, encode(value), iso(now())),
            )

    def get(self, key: str) -> tuple[bytes, datetime] | None:
        """The JSON stored under `key` (decode it with the type you stored) and when; None if absent."""
        row = (
            self._store._connection()
            .execute("SELECT value, stored_at FROM cache WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else (row["value"].encode(), datetime.fromisoformat(row["stored_at"]))
