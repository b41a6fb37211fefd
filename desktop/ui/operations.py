"""Store work from the UI, kept apart by kind, as aqt's `QueryOp` and `CollectionOp` keep it:

- `QueryOp`: a read, run off the UI thread (`run_in_background`); its result arrives on the UI thread.
  A failure is shown on the notification line unless the caller handles it (`failure`).
- `CollectionOp`: a write. It reports any error on the notification line — never swallowed — and then
  runs the caller's `failure` (e.g. "Not saved!" beside the answer); on success it tells every view what
  changed (`StoreEvents.changed` with a `StoreChanges`) before the caller's `success`. Views subscribe
  to that signal instead of re-reading the store whenever some widget thinks they should.

A write runs on the UI thread and has committed when `run` returns: saving an answer must be on disk
before the UI says "saved" and before a lesson switch or quit moves on (docs/architecture.md,
invariant 1). SQLite commits of one answer take milliseconds (docs/performance.md), well inside a frame.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from desktop.core.errors import DesktopError
from desktop.ui.background import run_in_background
from desktop.ui.qt import QObject, Signal

if TYPE_CHECKING:
    from desktop.core.store import Store
    from desktop.ui.context import UiContext

__all__ = ["CollectionOp", "QueryOp", "StoreChanges", "StoreEvents"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class StoreChanges:
    """What a write changed, so each view refreshes only what it shows."""

    #: Answers saved here (the lesson list's counts, an activity's "saved" line).
    answers: bool = False
    #: Operations queued or answered (the status bar's count, the sync log).
    outbox: bool = False
    #: Marks shown here (a teacher's grid cell and totals, a pupil's mark line).
    marks: bool = False
    #: The lesson list or a lesson's content.
    lessons: bool = False
    #: Which answers or marks: (pupil id, or None for the user's own, lesson id, activity id).
    activities: tuple[tuple[int | None, str, str], ...] = ()

    def __or__(self, other: StoreChanges) -> StoreChanges:
        return StoreChanges(
            answers=self.answers or other.answers,
            outbox=self.outbox or other.outbox,
            marks=self.marks or other.marks,
            lessons=self.lessons or other.lessons,
            activities=self.activities + other.activities,
        )


class StoreEvents(QObject):
    """One per window: `changed(StoreChanges)` after each write the UI made through a `CollectionOp`,
    and after each sync that changed the store (the main window translates its report)."""

    changed = Signal(object)


def error_text(what: str, error: Exception) -> str:
    """A sentence for the notification line: the app's own errors are already written for people."""
    if isinstance(error, DesktopError):
        return str(error)
    return f"{what} failed: {error}"


class QueryOp(Generic[T]):
    """A read of the store off the UI thread:
    `QueryOp(ctx, read, what=…).success(show).run_in_background()`."""

    def __init__(self, ctx: UiContext, query: Callable[[Store], T], *, what: str) -> None:
        self._ctx = ctx
        self._query = query
        self._what = what
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[Exception], None] | None = None

    def success(self, on_success: Callable[[T], None]) -> QueryOp[T]:
        self._success = on_success
        return self

    def failure(self, on_failure: Callable[[Exception], None]) -> QueryOp[T]:
        """Handle the error instead of the default (the notification line): e.g. a result nobody waits
        for any more, after a logout or a newer query."""
        self._failure = on_failure
        return self

    def run_in_background(self) -> None:
        store = self._ctx.store  # taken now: the session may change before the thread starts
        query = self._query

        def failed(error: Exception) -> None:
            if self._failure is not None:
                self._failure(error)
            else:
                log.warning("%s failed", self._what, exc_info=error)
                self._ctx.notify("error", error_text(self._what, error))

        def done(result: Any) -> None:
            if self._success is not None:
                self._success(result)

        run_in_background(lambda: query(store), done, failed)


class CollectionOp(Generic[T]):
    """A write to the store from the UI: errors always reach the notification line, success tells the
    views what changed. `CollectionOp(ctx, write, changes, what=…).success(…).failure(…).run()`."""

    def __init__(self, ctx: UiContext, op: Callable[[Store], T], changes: StoreChanges, *, what: str) -> None:
        self._ctx = ctx
        self._op = op
        self._changes = changes
        self._what = what
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[Exception], None] | None = None

    def success(self, on_success: Callable[[T], None]) -> CollectionOp[T]:
        self._success = on_success
        return self

    def failure(self, on_failure: Callable[[Exception], None]) -> CollectionOp[T]:
        """Runs after the error is shown on the notification line (it is shown either way)."""
        self._failure = on_failure
        return self

    def run(self) -> bool:
        """Write now, on this thread; True once committed (then the views have been told), False if it
        failed (then the error has been shown)."""
        try:
            result = self._op(self._ctx.store)
        except Exception as error:  # every failure is shown, none is swallowed
            self._report(error)
            return False
        self._finish(result)
        return True

    def run_in_background(self) -> None:
        """For a write nothing on screen waits for: off the UI thread, reported the same way."""
        store = self._ctx.store
        op = self._op
        run_in_background(lambda: op(store), self._finish, self._report)

    def _report(self, error: Exception) -> None:
        if not isinstance(error, DesktopError):
            log.error("%s failed", self._what, exc_info=error)
        self._ctx.notify("error", error_text(self._what, error))
        if self._failure is not None:
            self._failure(error)

    def _finish(self, result: T) -> None:
        self._ctx.events.changed.emit(self._changes)
        if self._success is not None:
            self._success(result)
