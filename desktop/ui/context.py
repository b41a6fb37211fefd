"""What every view needs from the running app: the session (store, client, engine), the sync thread,
and a way to show a non-blocking notification."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from desktop.core.engine import SyncStatus
from desktop.core.session import Session
from desktop.core.store import Store
from desktop.ui.background import SyncController

__all__ = ["SERVER_SETTINGS_KEY", "UiContext"]

SERVER_SETTINGS_KEY = "server-settings"


@dataclasses.dataclass
class UiContext:
    session: Session
    sync: SyncController | None
    notify: Callable[[str, str], None]  # (level: "info" | "warning" | "error", message)
    status: SyncStatus | None = None

    @property
    def store(self) -> Store:
        return self.session.store

    @property
    def user_id(self) -> int:
        return self.session.user.id

    @property
    def online(self) -> bool:
        return self.status is None or self.status.state not in ("offline",)

    @property
    def code_runs_locally(self) -> bool:
        """Whether Run and Check use this laptop first (the default) or only the school server: the
        school's choice, learnt from the server and kept offline in the store (SERVER_SETTINGS_KEY)."""
        cached = self.store.cache_get(SERVER_SETTINGS_KEY)
        if cached is None:
            return True
        try:
            settings = json.loads(cached[0])
        except ValueError:
            return True
        return not (isinstance(settings, dict) and settings.get("code_execution") == "server_only")

    def sync_now(self) -> None:
        if self.sync is not None:
            self.sync.sync_now()
