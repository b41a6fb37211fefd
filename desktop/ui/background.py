"""Work off the UI thread, reporting back through signals.

- `run_in_background(fn, on_done, on_error)`: a one-shot task on the thread pool (log in, run code,
  fetch a class's progress). The callbacks run on the UI thread.
- `SyncController`: the core `SyncLoop` on its own QThread; its listener re-emits every event as a
  Qt signal (`sync_started`, `sync_finished`, `progress_changed`, `status_changed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.core.engine import SyncEngine, SyncListener, SyncLoop, SyncReport, SyncStatus
from desktop.ui.qt import QObject, QRunnable, QThread, QThreadPool, Signal

__all__ = ["SyncController", "run_in_background"]


class _TaskSignals(QObject):
    finished = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _TaskSignals) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as error:  # reported to the UI, which shows a plain message
            self.signals.failed.emit(error)
        else:
            self.signals.finished.emit(result)


_running: set[_TaskSignals] = set()


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> _TaskSignals:
    signals = _TaskSignals()
    _running.add(signals)

    def done(result: Any) -> None:
        _running.discard(signals)
        if on_done:
            on_done(result)

    def failed(error: Exception) -> None:
        _running.discard(signals)
        if on_error:
            on_error(error)

    signals.finished.connect(done)
    signals.failed.connect(failed)
    QThreadPool.globalInstance().start(_Task(fn, signals))
    return signals


def wait_for_background(timeout_ms: int = 10_000) -> bool:
    """Used at shutdown and in tests."""
    return bool(QThreadPool.globalInstance().waitForDone(timeout_ms))


class _SignalListener(SyncListener):
    def __init__(self, controller: SyncController) -> None:
        self.controller = controller

    def sync_started(self) -> None:
        self.controller.sync_started.emit()

    def progress(self, done: int, total: int) -> None:
        self.controller.progress_changed.emit(done, total)

    def sync_finished(self, report: SyncReport) -> None:
        self.controller.sync_finished.emit(report)

    def status_changed(self, status: SyncStatus) -> None:
        self.controller.status_changed.emit(status)


class _LoopWorker(QObject):
    def __init__(self, loop: SyncLoop) -> None:
        super().__init__()
        self.loop = loop

    def run(self) -> None:
        self.loop.run()
        self.thread().quit()


class SyncController(QObject):
    """Owns the sync thread for one session. Signals arrive on the UI thread."""

    sync_started = Signal()
    sync_finished = Signal(object)  # SyncReport
    progress_changed = Signal(int, int)
    status_changed = Signal(object)  # SyncStatus

    def __init__(self, engine: SyncEngine, *, interval: float = 30.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.loop = SyncLoop(engine, _SignalListener(self), interval=interval)
        self._thread = QThread()
        self._thread.setObjectName("post16-sync")
        self._worker = _LoopWorker(self.loop)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)

    def start(self) -> None:
        self._thread.start()

    def sync_now(self) -> None:
        self.loop.request_sync()

    def resume(self) -> None:
        self.loop.resume()

    def stop(self, timeout_ms: int = 15_000) -> None:
        self.loop.stop()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(timeout_ms)

    @property
    def running(self) -> bool:
        return bool(self._thread.isRunning())
