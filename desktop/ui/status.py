"""The always-visible sync status bar and the non-blocking notification area."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime

from desktop.core.engine import SyncStatus
from desktop.ui.palette import ERROR_TEXT, NOTICE_BACKGROUNDS, STATUS_COLOURS
from desktop.ui.qt import (
    QEvent,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStatusBar,
    Qt,
    QTimer,
    QToolButton,
    QWidget,
    Signal,
)

__all__ = ["Notice", "NotificationArea", "SyncStatusBar"]

_STATE_TEXT = {
    "idle": "● Online",
    "syncing": "● Syncing",
    "offline": "● Offline",
    "session_expired": "● Logged out",
    "outdated": "● Update needed",
    "error": "● Sync problem",
}


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone().strftime("%H:%M:%S")


class SyncStatusBar(QStatusBar):
    sync_requested = Signal()
    queue_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.connection = QLabel("● Connecting…")
        self.connection.setAccessibleName("Connection state")
        self.pending = QToolButton()
        self.pending.setText("Nothing waiting to sync")
        self.pending.setAccessibleName("Answers waiting to sync")
        self.pending.setAutoRaise(True)
        self.pending.clicked.connect(self.queue_requested)
        self.last_sync = QLabel("Last sync: never")
        self.last_sync.setAccessibleName("Last sync time")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Sync progress")
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("Sending %v of %m")
        self.progress.hide()
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setAccessibleName("Sync now")
        self.sync_button.clicked.connect(self.sync_requested)
        self.addWidget(self.connection)
        self.addWidget(self.pending)
        self.addWidget(self.progress)
        self.insecure = QLabel("<b>⚠ Not encrypted</b>")
        self.insecure.setStyleSheet(f"color: {ERROR_TEXT};")
        self.insecure.setAccessibleName("Connection not encrypted")
        self.insecure.hide()
        self.addPermanentWidget(self.insecure)
        self.addPermanentWidget(self.last_sync)
        self.addPermanentWidget(self.sync_button)
        self.current: SyncStatus | None = None

    def show_status(self, status: SyncStatus) -> None:
        self.current = status
        text = _STATE_TEXT.get(status.state, "●")
        colour = STATUS_COLOURS.get(status.state, STATUS_COLOURS["unknown"])
        if status.state == "offline" and status.retry_in:
            text += f" — retrying in {max(1, math.ceil(status.retry_in))} s"
        # Bold by markup, not a style sheet: a style sheet's font would stop following Ctrl++ / Ctrl+0.
        self.connection.setText(f"<b>{text}</b>")
        self.connection.setStyleSheet(f"color: {colour};")
        self.connection.setToolTip(status.message)
        if status.pending:
            noun = "change" if status.pending == 1 else "changes"
            self.pending.setText(f"{status.pending} {noun} waiting to sync")
        else:
            self.pending.setText("Nothing waiting to sync")
        if status.rejected:
            self.pending.setText(self.pending.text() + f" · {status.rejected} refused")
        self.last_sync.setText(f"Last sync: {_when(status.last_sync)}")
        if status.state != "syncing":
            self.progress.hide()

    def relayout(self) -> None:
        """After a text size change: QStatusBar keeps its old height until told to lay out again."""
        self.reformat()

    def show_insecure(self, warning: str | None) -> None:
        """A plain http:// server IT allowed: say so for as long as the app is connected to it."""
        self.insecure.setVisible(bool(warning))
        self.insecure.setToolTip(warning or "")
        self.insecure.setAccessibleDescription(warning or "")

    def show_progress(self, done: int, total: int) -> None:
        if total < 20:  # only a large queue earns a progress bar
            return
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)


@dataclasses.dataclass
class Notice:
    level: str  # "info" | "warning" | "error"
    message: str
    #: Messages with the same key replace each other ("3 new marks") and `clear(key)` withdraws them.
    key: str | None = None


class NotificationArea(QFrame):
    """One fixed line (above the status bar) for every message: the newest open one, "+N" for the
    others (a menu lists them) and ✕ to dismiss. Its height never changes, so a message arriving or
    leaving never moves what is under the pupil's mouse. Info messages leave by themselves after a
    while; warnings and errors stay until dismissed or withdrawn (`clear`)."""

    INFO_SECONDS = 8
    COLOURS = NOTICE_BACKGROUNDS
    notice_closed = Signal(str)  # the key of a keyed notice that was dismissed, expired or cleared

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notifications")
        self.setAccessibleName("Notifications")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        layout.setSpacing(6)
        self.message = QLabel("")
        self.message.setAccessibleName("Notification")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.more = QToolButton()
        self.more.setAccessibleName("More notifications")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more.setMenu(QMenu(self.more))
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAccessibleName("Dismiss notification")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.more)
        layout.addWidget(self.close_button)
        self.history: list[tuple[str, str]] = []
        self.open_notices: list[Notice] = []
        self._timers: dict[int, QTimer] = {}
        self._fix_height()
        self._show_current()

    def _fix_height(self) -> None:
        line = max(self.fontMetrics().height(), self.close_button.sizeHint().height())
        self.setFixedHeight(line + 6)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fix_height()
            self._show_current()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._show_current()

    def notify(self, level: str, message: str, key: str | None = None) -> None:
        self.history.append((level, message))
        for notice in list(self.open_notices):
            if (key is not None and notice.key == key) or notice.message == message:
                self._remove(notice, announce=False)
        notice = Notice(level, message, key)
        self.open_notices.append(notice)
        if level == "info":
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self._remove(notice))
            timer.start(self.INFO_SECONDS * 1000)
            self._timers[id(notice)] = timer
        self._show_current()

    def clear(self, key: str) -> None:
        """Withdraw the message with this key (e.g. "offline" when the connection is back)."""
        for notice in list(self.open_notices):
            if notice.key == key:
                self._remove(notice)

    def dismiss(self) -> None:
        """Close the message shown; the next open one takes its place."""
        if self.open_notices:
            self._remove(self.open_notices[-1])

    def visible_messages(self) -> list[str]:
        return [notice.message for notice in self.open_notices]

    @property
    def current(self) -> Notice | None:
        return self.open_notices[-1] if self.open_notices else None

    def _remove(self, notice: Notice, *, announce: bool = True) -> None:
        if notice not in self.open_notices:
            return
        self.open_notices.remove(notice)
        timer = self._timers.pop(id(notice), None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()
        if announce and notice.key is not None:
            self.notice_closed.emit(notice.key)
        self._show_current()

    def _bring_forward(self, notice: Notice) -> None:
        if notice in self.open_notices:
            self.open_notices.remove(notice)
            self.open_notices.append(notice)
            self._show_current()

    def _show_current(self) -> None:
        notice = self.current
        colour = self.COLOURS.get(notice.level, "#eee") if notice else "transparent"
        self.setStyleSheet(f"QFrame#notifications {{ background: {colour}; border-top: 1px solid #d0d4d9; }}")
        self.close_button.setVisible(notice is not None)
        others = len(self.open_notices) - 1
        self.more.setVisible(others > 0)
        self.more.setText(f"+{others}")
        menu = self.more.menu()
        menu.clear()
        for older in reversed(self.open_notices[:-1]):
            action = menu.addAction(older.message)
            action.triggered.connect(lambda _checked=False, n=older: self._bring_forward(n))
        if notice is None:
            self.message.setText("")
            self.message.setToolTip("")
            self.message.setAccessibleDescription("No notifications")
            return
        width = max(40, self.message.width())
        self.message.setText(
            self.message.fontMetrics().elidedText(notice.message, Qt.TextElideMode.ElideRight, width)
        )
        self.message.setToolTip(notice.message)
        self.message.setAccessibleDescription(f"{notice.level.capitalize()}: {notice.message}")
