"""The school's choices (shared.wire.settings), learnt from the server at each sync and kept in the
store, so the app obeys them offline too (e.g. "server_only": no program runs on this laptop)."""

from __future__ import annotations

import msgspec

from desktop.core.store import Store
from shared.wire.settings import SchoolSettings

__all__ = ["SCHOOL_SETTINGS_KEY", "cached_school_settings", "remember_school_settings"]

SCHOOL_SETTINGS_KEY = "school-settings"


def cached_school_settings(store: Store) -> SchoolSettings:
    """The last settings the server sent; the defaults before the first sync or if unreadable."""
    cached = store.cache.get(SCHOOL_SETTINGS_KEY)
    if cached is None:
        return SchoolSettings()
    try:
        return msgspec.json.decode(cached[0], type=SchoolSettings)
    except msgspec.DecodeError:
        return SchoolSettings()


def remember_school_settings(store: Store, settings: SchoolSettings) -> None:
    if cached_school_settings(store) != settings or store.cache.get(SCHOOL_SETTINGS_KEY) is None:
        store.cache.put(SCHOOL_SETTINGS_KEY, settings)
