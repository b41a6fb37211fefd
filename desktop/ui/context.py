"""What every view needs from the running app: the session (store, client, engine), the sync thread,
a way to show a non-blocking notification, and the signal that says what the UI's writes changed
(`events`, see desktop/ui/operations.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from desktop.core.engine import SyncStatus
from desktop.core.school_settings import cached_school_settings
from desktop.core.session import Session
from desktop.core.store import Store
from desktop.ui.background import SyncController
from desktop.ui.operations import StoreEvents

__all__ = ["UiContext"]


@dataclasses.dataclass
class UiContext:
    session: Session
    sync: SyncController | None
    notify: Callable[[str, str], None]  # (level: "info" | "warning" | "error", message)
    status: SyncStatus | None = None
    #: `changed(StoreChanges)` after each write made through a `CollectionOp`; views subscribe.
    events: StoreEvents = dataclasses.field(default_factory=StoreEvents)

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
        school's choice, learnt from the server at each sync and kept offline in the store."""
        return cached_school_settings(self.store).code_execution != "server_only"

    def sync_now(self) -> None:
        if self.sync is not None:
            self.sync.sync_now()
