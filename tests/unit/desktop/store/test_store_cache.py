"""`store.cache`: server views kept for offline use."""

from __future__ import annotations

import msgspec

from desktop.core.store import Store


def test_a_cached_view_comes_back_as_stored_with_its_time(store: Store) -> None:
    assert store.cache.get("teacher:classes") is None
    store.cache.put("teacher:classes", [{"id": 1, "name": "13X"}])
    cached = store.cache.get("teacher:classes")
    assert cached is not None
    value, stored_at = cached
    assert msgspec.json.decode(value) == [{"id": 1, "name": "13X"}]
    assert stored_at.tzinfo is not None
