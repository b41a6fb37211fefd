"""Dialogs about the history of work: an answer's revisions (restore one) and the sync log
(waiting, received by the server with receipts, refused with the reason)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from desktop.core.errors import SyncError
from desktop.ui.background import run_in_background
from desktop.ui.context import UiContext
from desktop.ui.qt import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
)
from desktop.ui.titles import TitleBook

__all__ = ["RevisionDialog", "SyncLogDialog", "describe_state", "when"]


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone().strftime("%d %b %H:%M:%S")


def describe_state(state: dict[str, Any], options: list[str] | None = None) -> str:
    if isinstance(state.get("code"), str):
        return str(state["code"])
    if isinstance(state.get("text"), str):
        return str(state["text"])
    if isinstance(state.get("selected"), list):
        chosen = [
            options[i] if options and isinstance(i, int) and 0 <= i < len(options) else str(i)
            for i in state["selected"]
        ]
        return "Chosen: " + (", ".join(chosen) if chosen else "nothing")
    return json.dumps(state, indent=2, ensure_ascii=False)


class RevisionDialog(QDialog):
    """Every accepted version of one answer; the pupil may restore one (saved as a new version)."""

    restore_requested = Signal(dict)

    def __init__(
        self,
        ctx: UiContext,
        lesson_id: str,
        activity_id: str,
        *,
        pupil_id: int,
        title: str,
        options: list[str] | None = None,
        describe: Callable[[dict[str, Any]], str] | None = None,
        can_restore: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        """``describe`` turns a version into text for kinds that `describe_state` does not know."""
        super().__init__(parent)
        self.ctx = ctx
        self.describe = describe
        self.lesson_id, self.activity_id, self.pupil_id = lesson_id, activity_id, pupil_id
        self.options = options
        self.setWindowTitle(f"Versions of “{title}”")
        self.setAccessibleName("Answer history")
        self.resize(720, 440)
        layout = QVBoxLayout(self)
        self.info = QLabel("Versions kept on the server (newest first):")
        layout.addWidget(self.info)
        row = QHBoxLayout()
        self.list = QListWidget()
        self.list.setAccessibleName("Versions")
        self.list.currentRowChanged.connect(self._preview)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Selected version")
        row.addWidget(self.list, 2)
        row.addWidget(self.preview, 3)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.restore_button = QPushButton("Restore this version")
        self.restore_button.setAccessibleName("Restore the selected version")
        self.restore_button.setVisible(can_restore)
        self.restore_button.clicked.connect(self._restore)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.revisions: list[dict[str, Any]] = []
        local = ctx.store.pull.revisions(pupil_id, lesson_id, activity_id)
        self._show(
            [
                {
                    "revision": r.revision,
                    "state": r.state,
                    "client_time": r.client_time,
                    "received_at": r.received_at,
                    "device_id": r.device_id,
                    "current": r.current,
                }
                for r in local
            ]
        )
        self.load_from_server()

    def load_from_server(self) -> None:
        client = self.ctx.session.client
        pupil = None if self.pupil_id == self.ctx.user_id else self.pupil_id
        run_in_background(
            lambda: client.revisions(self.lesson_id, self.activity_id, pupil), self._loaded, self._failed
        )

    def _loaded(self, revision_list) -> None:
        self._show(
            [
                {
                    "revision": r.revision,
                    "state": r.state,
                    "client_time": r.client_time,
                    "received_at": r.received_at,
                    "device_id": r.device_id,
                    "current": r.current,
                }
                for r in sorted(revision_list.revisions, key=lambda r: r.revision, reverse=True)
            ]
        )

    def _failed(self, error: Exception) -> None:
        if isinstance(error, SyncError):
            self.info.setText("Offline: showing the versions this computer already knows.")

    def _show(self, revisions: list[dict[str, Any]]) -> None:
        self.revisions = revisions
        self.list.clear()
        for revision in revisions:
            marker = "  ← current" if revision["current"] else ""
            text = f"Version {revision['revision']} · saved {when(revision['client_time'])}{marker}"
            item = QListWidgetItem(text)
            item.setToolTip(
                f"Received by the server {when(revision['received_at'])} from {revision['device_id']}"
            )
            self.list.addItem(item)
        if not revisions:
            self.preview.setPlainText("No versions have reached the server yet.")
        else:
            self.list.setCurrentRow(0)
        self.restore_button.setEnabled(bool(revisions))

    def _preview(self, row: int) -> None:
        if 0 <= row < len(self.revisions):
            state = self.revisions[row]["state"]
            text = self.describe(state) if self.describe else describe_state(state, self.options)
            self.preview.setPlainText(text)

    def _restore(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.revisions):
            self.restore_requested.emit(dict(self.revisions[row]["state"]))
            self.accept()


class SyncLogDialog(QDialog):
    """What is waiting, what the server has acknowledged (receipts) and what it refused (and why)."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Sync log")
        self.setAccessibleName("Sync log")
        self.resize(820, 460)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.waiting = self._table(["Activity", "Saved here", "Attempts", "Last problem"])
        self.received = self._table(["Activity", "Saved here", "Received by server", "Version", "Outcome"])
        self.refused = self._table(["Activity", "Saved here", "Refused because"])
        self.tabs.addTab(self.waiting, "Waiting")
        self.tabs.addTab(self.received, "Received")
        self.tabs.addTab(self.refused, "Refused")
        layout.addWidget(self.tabs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.reload()

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.setAccessibleName(" / ".join(headers))
        return table

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
        table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                table.setItem(r, c, item)

    def _activity(self, kind: str, lesson_id: str, activity_id: str, pupil_id: int | None) -> str:
        what = self._titles.describe(lesson_id, activity_id)
        if kind == "assignment.set":
            return f"Work set for a class: {what}"
        return f"Mark for {self._titles.pupil(pupil_id)}: {what}" if kind == "mark.set" else what

    def reload(self) -> None:
        store = self.ctx.store
        self._titles = TitleBook(store)
        pending = store.outbox.pending_operations()
        self._fill(
            self.waiting,
            [
                [
                    self._activity(p.kind, p.lesson_id, p.activity_id, p.pupil_id),
                    when(p.client_time),
                    str(p.attempts),
                    p.last_error or "",
                ]
                for p in pending
            ],
        )
        receipts = store.outbox.receipts()
        self._fill(
            self.received,
            [
                [
                    self._activity(r.kind, r.lesson_id, r.activity_id, r.pupil_id),
                    when(r.client_time),
                    when(r.received_at),
                    "" if r.revision is None else str(r.revision),
                    "already had it" if r.outcome == "duplicate" else "saved",
                ]
                for r in receipts
            ],
        )
        rejected = store.outbox.rejected_operations()
        self._fill(
            self.refused,
            [
                [
                    self._activity(r.kind, r.lesson_id, r.activity_id, r.pupil_id),
                    when(r.client_time),
                    r.reason,
                ]
                for r in rejected
            ],
        )
        self.tabs.setTabText(0, f"Waiting ({len(pending)})")
        self.tabs.setTabText(1, f"Received ({len(receipts)})")
        self.tabs.setTabText(2, f"Refused ({len(rejected)})")
