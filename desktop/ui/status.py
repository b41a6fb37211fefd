"""The always-visible sync status bar and the non-blocking notification area."""

from __future__ import annotations

import math
from datetime import datetime

from desktop.core.engine import SyncStatus
from desktop.ui.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QStatusBar,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)

__all__ = ["NotificationArea", "SyncStatusBar"]

_STATE_TEXT = {
    "idle": ("● Online", "#1b7f3b"),
    "syncing": ("● Syncing", "#1a5fb4"),
    "offline": ("● Offline", "#b00020"),
    "session_expired": ("● Logged out", "#b35c00"),
    "outdated": ("● Update needed", "#b00020"),
    "error": ("● Sync problem", "#b35c00"),
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
        self.addPermanentWidget(self.last_sync)
        self.addPermanentWidget(self.sync_button)
        self.current: SyncStatus | None = None

    def show_status(self, status: SyncStatus) -> None:
        self.current = status
        text, colour = _STATE_TEXT.get(status.state, ("●", "#333"))
        if status.state == "offline" and status.retry_in:
            text += f" — retrying in {max(1, math.ceil(status.retry_in))} s"
        self.connection.setText(text)
        self.connection.setStyleSheet(f"color: {colour}; font-weight: bold;")
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

    def show_progress(self, done: int, total: int) -> None:
        if total < 20:  # only a large queue earns a progress bar
            return
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setVisible(done < total)


class _Notice(QFrame):
    COLOURS = {"info": "#e8f0fe", "warning": "#fff4e5", "error": "#fdecea"}

    def __init__(self, level: str, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = level
        self.message = message
        self.setObjectName("notice")
        colour = self.COLOURS.get(level, "#eee")
        self.setStyleSheet(
            f"QFrame#notice {{ background: {colour}; border: 1px solid #ccc; border-radius: 4px; }}"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        label = QLabel(message)
        label.setWordWrap(True)
        label.setAccessibleName(f"{level.capitalize()} notification")
        layout.addWidget(label, 1)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName("Dismiss notification")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)

    def dismiss(self) -> None:
        self.hide()
        self.deleteLater()


class NotificationArea(QWidget):
    """Messages stack at the top of the window; info fades after a while, errors stay until dismissed."""

    MAX_VISIBLE = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notifications")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 0)
        self._layout.setSpacing(4)
        self.history: list[tuple[str, str]] = []
        self._notices: list[_Notice] = []

    def notify(self, level: str, message: str) -> None:
        self.history.append((level, message))
        for notice in self.visible_notices():
            if notice.message == message:
                return
        notice = _Notice(level, message, self)
        self._notices.append(notice)
        self._layout.addWidget(notice)
        notices = self.visible_notices()
        for old in notices[: max(0, len(notices) - self.MAX_VISIBLE)]:
            old.dismiss()
        if level == "info":
            QTimer.singleShot(8000, notice, notice.dismiss)

    def visible_notices(self) -> list[_Notice]:
        self._notices = [n for n in self._notices if not n.isHidden()]
        return list(self._notices)
