"""The sync engine: explicit named steps, and a loop that runs them off the UI thread with back-off.

Steps (each safe to interrupt at any point: the store only forgets an operation after the server's
answer for it, and moves the pull cursor in the same transaction as the changes it covers):

1. `push_outbox`   send queued operations oldest first in batches of at most `MAX_BATCH`; apply each
                   answer (applied/duplicate -> receipt, rejected -> kept as rejected, rate_limited ->
                   stays queued in its place; pushing stops until its `retry_after`). A batch the server
                   refuses as a whole (4xx) is split in halves until the one operation at fault is found and
                   kept as rejected, so it never blocks the queue behind it (invariant 8).
2. `pull_changes`  fetch server changes after the stored cursor until `has_more` is false: revisions (the
                   server's conflict rule picks the current answer, which replaces the local one unless a
                   newer local change waits), marks and feedback, lesson updates.
3. `refresh_lessons` fetch the lesson list and every lesson whose version changed, so lessons open offline.
                   A lesson that cannot be read keeps its last good cached copy. Answers to activities a
                   new version dropped, or to lessons removed from the list, are kept and reported as
                   archived (`SyncReport.answers_archived`); answers to activities that remain stay put.

`SyncLoop.run` repeats `sync_once` every `interval` seconds or when woken (`request_sync`), backing off
exponentially with jitter after transient failures and honouring `Retry-After`. It stops trying on an
expired session (until `resume`) and on an outdated protocol, and never drops the queue.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal

from desktop.core.client import ApiClient
from desktop.core.errors import (
    BadResponseError,
    OfflineError,
    ProtocolOutdatedError,
    RateLimitedError,
    RequestRefusedError,
    SessionExpiredError,
    SyncError,
)
from desktop.core.school_settings import remember_school_settings
from desktop.core.store import AckSummary, PullApplied, RejectedOperation, Store
from shared.wire.marks import Mark
from shared.wire.sync import MAX_BATCH, Operation

__all__ = ["Backoff", "SyncEngine", "SyncListener", "SyncLoop", "SyncReport", "SyncState", "SyncStatus"]

SyncState = Literal["idle", "syncing", "offline", "session_expired", "outdated", "error"]
ProgressCallback = Callable[[int, int], None]


@dataclasses.dataclass(slots=True)
class SyncReport:
    pushed: int = 0
    duplicates: int = 0
    rejected: list[RejectedOperation] = dataclasses.field(default_factory=list)
    ignored_acknowledgements: int = 0
    revisions: int = 0
    new_marks: list[Mark] = dataclasses.field(default_factory=list)
    answers_replaced: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    lessons_updated: list[str] = dataclasses.field(default_factory=list)
    #: (lesson_id, activity_id) of answers this sync moved to "archived" (their activity or lesson is gone).
    answers_archived: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    lessons_removed: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    finished_at: datetime | None = None
    #: Operations the server left for later (over a per-minute limit), and when to send them again.
    deferred: int = 0
    retry_after: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows."""

    state: SyncState
    pending: int
    rejected: int
    last_sync: datetime | None
    message: str = ""
    retry_in: float | None = None

    @property
    def online(self) -> bool:
        return self.state in ("idle", "syncing")


class SyncListener:
    """Callbacks from the loop's thread; the Qt side turns them into signals. Defaults do nothing."""

    def sync_started(self) -> None:
        pass

    def progress(self, done: int, total: int) -> None:
        pass

    def sync_finished(self, report: SyncReport) -> None:
        pass

    def status_changed(self, status: SyncStatus) -> None:
        pass


class Backoff:
    """Exponential back-off with "equal jitter": the n-th delay is uniform in [d/2, d], d = base * 2^n."""

    def __init__(
        self, base: float = 1.0, cap: float = 60.0, rng: Callable[[float, float], float] | None = None
    ) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0
        self._uniform = rng or random.uniform  # jitter, not cryptography

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.failures))
        self.failures += 1
        return self._uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


class SyncEngine:
    def __init__(self, store: Store, client: ApiClient, *, batch_size: int = MAX_BATCH) -> None:
        self.store = store
        self.client = client
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self._lessons_fetched = False

    # -- step 1 ---------------------------------------------------------------------------------

    def push_outbox(
        self, progress: ProgressCallback | None = None, report: SyncReport | None = None
    ) -> SyncReport:
        report = report or SyncReport()
        total = self.store.outbox.pending_count()
        done = 0
        if progress and total:
            progress(0, total)
        while True:
            batch = self.store.outbox.next_batch(self.batch_size)
            if not batch:
                break
            try:
                summary = self._push_batch(batch)
            except SyncError as error:
                if error.__class__ is not SessionExpiredError:
                    self.store.outbox.note_attempt([op.op_id for op in batch], str(error))
                raise
            _add_ack(report, summary)
            if summary.deferred:
                # Over a per-minute limit: what is left waits, in order, until the budget has room.
                report.deferred += summary.deferred
                report.retry_after = max(report.retry_after, summary.retry_after)
                break
            handled = summary.acknowledged + summary.rejected
            if handled == 0:
                # The server answered none of them: try again later rather than loop forever.
                report.problems.append("The server did not acknowledge the queued answers; retrying later.")
                break
            done += handled
            if progress:
                progress(min(done, total), max(total, done))
        return report

    def _push_batch(self, batch: Sequence[Operation]) -> AckSummary:
        try:
            response = self.client.push(self.store.device_id, batch)
        except RequestRefusedError as error:
            if len(batch) == 1:
                reason = f"The server refused this change: {error}"
                return self.store.outbox.reject_locally(batch[0].op_id, reason, error.code)
            middle = len(batch) // 2
            first = self._push_batch(batch[:middle])
            if first.deferred:  # the rest waits behind what the server left for later
                return first
            second = self._push_batch(batch[middle:])
            return _merge_acks(first, second)
        return self.store.outbox.acknowledge(response.results)

    # -- step 2 ---------------------------------------------------------------------------------

    def pull_changes(self, report: SyncReport | None = None, *, page_size: int = 500) -> SyncReport:
        report = report or SyncReport()
        for _ in range(10_000):  # a server that always says has_more must not hang the app
            cursor = self.store.pull.cursor()
            page = self.client.pull(cursor, page_size)
            applied = self.store.pull.apply(page.items, page.next_cursor)
            _add_pull(report, applied)
            if not page.has_more or page.next_cursor == cursor:
                break
        return report

    # -- step 3 ---------------------------------------------------------------------------------

    def refresh_lessons(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        manifest = self.client.lessons()
        to_fetch = self.store.lessons.save_index(manifest.lessons)
        for lesson_id in to_fetch:
            try:
                lesson = self.client.lesson(lesson_id)
            except (BadResponseError, RequestRefusedError) as error:
                report.problems.append(
                    f"Lesson {lesson_id!r} from the server could not be read ({error}); "
                    "keeping the copy already on this computer."
                )
                continue
            if lesson.id != lesson_id:
                report.problems.append(f"Lesson {lesson_id!r}: the server sent a different lesson; ignored.")
                continue
            self.store.lessons.save(lesson)
            report.lessons_updated.append(lesson_id)
        self._lessons_fetched = True
        return report

    def refresh_school_settings(self) -> None:
        """Learn the school's choices (where code runs); a server without them keeps the defaults."""
        try:
            settings = self.client.school_settings()
        except (BadResponseError, RequestRefusedError):
            return  # an older server, or a passing fault: the last settings (or the defaults) stand
        remember_school_settings(self.store, settings)

    # -- all steps ------------------------------------------------------------------------------

    def sync_once(self, progress: ProgressCallback | None = None) -> SyncReport:
        report = SyncReport()
        served_before = [summary.id for summary in self.store.lessons.summaries()]
        archived_before = {(a.lesson_id, a.activity_id) for a in self.store.lessons.archived_answers()}
        self.push_outbox(progress, report)
        self.pull_changes(report)
        self.refresh_school_settings()
        if not self._lessons_fetched or report.lessons_updated or self.store.lessons.stale():
            changed_by_pull = list(report.lessons_updated)
            report.lessons_updated.clear()
            self.refresh_lessons(report)
            for lesson_id in changed_by_pull:
                if lesson_id not in report.lessons_updated:
                    report.lessons_updated.append(lesson_id)
            report.lessons_removed.extend(i for i in served_before if self.store.lessons.removed(i))
            report.answers_archived.extend(
                (a.lesson_id, a.activity_id)
                for a in self.store.lessons.archived_answers()
                if (a.lesson_id, a.activity_id) not in archived_before
            )
        report.finished_at = datetime.now(UTC)
        self.store.record_sync(report.finished_at)
        return report

    def status(self, state: SyncState, message: str = "", retry_in: float | None = None) -> SyncStatus:
        return SyncStatus(
            state=state,
            pending=self.store.outbox.pending_count(),
            rejected=len(self.store.outbox.rejected_operations()),
            last_sync=self.store.last_sync(),
            message=message,
            retry_in=retry_in,
        )


def _add_ack(report: SyncReport, summary: AckSummary) -> None:
    report.pushed += summary.acknowledged
    report.rejected.extend(summary.rejections)
    report.ignored_acknowledgements += summary.unknown


def _merge_acks(first: AckSummary, second: AckSummary) -> AckSummary:
    return AckSummary(
        acknowledged=first.acknowledged + second.acknowledged,
        rejected=first.rejected + second.rejected,
        unknown=first.unknown + second.unknown,
        rejections=first.rejections + second.rejections,
        deferred=first.deferred + second.deferred,
        retry_after=max(first.retry_after, second.retry_after),
    )


def _add_pull(report: SyncReport, applied: PullApplied) -> None:
    report.revisions += applied.revisions
    report.new_marks.extend(applied.new_marks)
    report.answers_replaced.extend(applied.answers_replaced)
    report.lessons_updated.extend(i for i in applied.lessons_changed if i not in report.lessons_updated)


class SyncLoop:
    """Runs `engine.sync_once` until stopped. Call `run` on a worker thread; the rest from any thread."""

    def __init__(
        self,
        engine: SyncEngine,
        listener: SyncListener | None = None,
        *,
        interval: float = 30.0,
        backoff: Backoff | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.listener = listener or SyncListener()
        self.interval = interval
        self.backoff = backoff or Backoff()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused_state: SyncState | None = None
        self._monotonic = monotonic
        self.last_status: SyncStatus | None = None

    def request_sync(self) -> None:
        """Sync as soon as possible (after a save, or "Sync now")."""
        self._wake.set()

    def resume(self) -> None:
        """After a new login: forget the expired-session pause and sync now."""
        self._paused_state = None
        self.backoff.reset()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _publish(self, status: SyncStatus) -> None:
        self.last_status = status
        self.listener.status_changed(status)

    def run_once(self) -> float | None:
        """One attempt; returns the delay before the next one (None: wait until woken)."""
        if self._paused_state is not None:
            return None
        self.listener.sync_started()
        self._publish(self.engine.status("syncing", "Syncing…"))
        try:
            report = self.engine.sync_once(self.listener.progress)
        except SessionExpiredError as error:
            self._paused_state = "session_expired"
            self._publish(self.engine.status("session_expired", str(error)))
            return None
        except ProtocolOutdatedError as error:
            self._paused_state = "outdated"
            self._publish(self.engine.status("outdated", str(error)))
            return None
        except RateLimitedError as error:
            delay = max(error.retry_after, self.backoff.next_delay())
            self._publish(self.engine.status("idle", str(error), retry_in=delay))
            return delay
        except OfflineError as error:
            delay = self.backoff.next_delay()
            self._publish(self.engine.status("offline", str(error), retry_in=delay))
            return delay
        except SyncError as error:
            delay = self.backoff.next_delay()
            self._publish(self.engine.status("error", str(error), retry_in=delay))
            return delay
        self.backoff.reset()
        self.listener.sync_finished(report)
        if report.deferred:
            delay = max(report.retry_after, 1.0)
            message = f"{report.deferred} changes wait for the server's per-minute limit; sending them soon."
            self._publish(self.engine.status("idle", message, retry_in=delay))
            return delay
        self._publish(self.engine.status("idle"))
        return self.interval

    def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                delay = self.run_once()
            except Exception as error:  # the loop must survive anything, and say so
                delay = self.backoff.next_delay()
                self._publish(self.engine.status("error", f"Sync failed unexpectedly: {error}", delay))
            if self._stop.is_set():
                break
            self._wake.wait(delay)
