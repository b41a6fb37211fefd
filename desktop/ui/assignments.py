"""Assignments in the app: the pupil's "Due work" tab, and the teacher's assignments of a class beside
the progress grid (set, change, withdraw, show one in the grid, export marks for the markbook).

Setting work goes through the outbox like a mark (`store.outbox.queue_assignment`), so a teacher can
set it offline; the lists come from the server when it answers and from this computer's cache when it
does not (desktop/core/assignments.py folds the two)."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from desktop.core.assignments import (
    AssignmentInputError,
    AssignmentScope,
    ClassAssignment,
    DueAssignment,
    assignment_change,
    class_assignments,
    default_due,
    due_list,
    due_words,
)
from desktop.core.errors import SyncError
from desktop.ui.background import run_in_background
from desktop.ui.context import UiContext
from desktop.ui.operations import CollectionOp, StoreChanges
from desktop.ui.qt import (
    QCheckBox,
    QComboBox,
    QDateTime,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QShortcut,
    Qt,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    Signal,
)
from shared.lessons.model import LessonSummary
from shared.wire.assignments import Assignment, AssignmentProgress, PupilAssignment

__all__ = ["AssignmentDialog", "ClassAssignmentsPanel", "DueWorkView"]

PUPIL_CACHE = "pupil:assignments"
SERVER_TIME_NOTE = (
    "Work counts as handed in when the <b>school server receives it</b>: the times below are the "
    "server's, not this computer's. Work saved here while offline is sent when the network is back, and "
    "counts from the moment the server receives it."
)


def _now() -> datetime:
    return datetime.now(UTC)


def _class_cache(class_id: int) -> str:
    return f"teacher:assignments:{class_id}"


def _progress_cache(assignment_id: uuid.UUID) -> str:
    return f"teacher:assignment:{assignment_id}"


# -- the pupil's due work ----------------------------------------------------------------------------


class DueWorkView(QWidget):
    """What is due and when, what is overdue, and the server's receipt for each piece of work."""

    open_requested = Signal(str, str)  # lesson id, activity id
    count_changed = Signal(int)  # assignments not yet complete

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setAccessibleName("Due work")
        layout = QVBoxLayout(self)
        self.note = QLabel(SERVER_TIME_NOTE)
        self.note.setWordWrap(True)
        self.note.setAccessibleName("How hand-in times are decided")
        layout.addWidget(self.note)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Work", "Hand-in", "Mark"])
        self.tree.setAccessibleName("Work set for you")
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemDoubleClicked.connect(self._activated)
        layout.addWidget(self.tree, 1)
        self.setFocusProxy(self.tree)  # the tab's content is the list: keyboard users land in it
        bottom = QHBoxLayout()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Due work status")
        bottom.addWidget(self.status, 1)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setAccessibleName("Ask the school server for your work again")
        self.refresh_button.clicked.connect(self.reload)
        bottom.addWidget(self.refresh_button)
        layout.addLayout(bottom)
        self.assignments: list[DueAssignment] = []
        self._server: list[PupilAssignment] = []
        self._stored_at: datetime | None = None
        #: the server has been asked (at least once) since this view was made
        self.asked = False
        self.cleared = False

    def clear(self) -> None:
        self.cleared = True
        self.assignments, self._server = [], []
        self.tree.clear()
        self.status.setText("")

    def reload(self, *, ask_server: bool = True) -> None:
        """Show what this computer knows at once, then ask the server (at start-up the window leaves
        that to after the first sync: the request would load the HTTP client while the first lesson is
        being shown)."""
        cached = self.ctx.store.cache.get(PUPIL_CACHE)
        if cached is not None and not self._server:
            self._server = msgspec.json.decode(cached[0], type=list[PupilAssignment])
            self._stored_at = cached[1]
        self.show_list()
        if ask_server:
            self.asked = True
            run_in_background(self.ctx.session.client.assignments, self._loaded, self._offline)

    def _loaded(self, assignments: list[PupilAssignment]) -> None:
        if self.cleared:
            return
        CollectionOp(
            self.ctx,
            lambda store: store.cache.put(PUPIL_CACHE, assignments),
            StoreChanges(),
            what="Keeping your work list for offline use",
        ).run()
        self._server = assignments
        self._stored_at = None
        self.show_list()

    def _offline(self, error: Exception) -> None:
        if self.cleared:
            return
        if isinstance(error, SyncError):
            when = self._stored_at
            known = (
                f" Showing what this computer knew on {when.astimezone():%a %d %b at %H:%M}." if when else ""
            )
            self.status.setText(f"<i>The school server cannot be reached now.{known}</i>")
        else:
            self.ctx.notify("error", f"Your work list could not be loaded: {error}")

    def show_list(self) -> None:
        """Rebuild the list from the server's answer and this computer's queue (after a save or sync)."""
        store = self.ctx.store
        titles = {
            (summary.id, activity.id): activity.title
            for summary in store.lessons.summaries()
            for activity in summary.activities
        }
        now = _now()
        self.assignments = due_list(self._server, store.outbox.queued_answer_keys(), titles, now)
        current = self.tree.currentItem()
        was = (current.data(0, Qt.ItemDataRole.UserRole), current.text(0)) if current is not None else None
        self.tree.clear()
        for due in self.assignments:
            assignment = due.assignment
            title = assignment.title or assignment.lesson_title
            top = QTreeWidgetItem(
                [
                    title if title == assignment.lesson_title else f"{title} ({assignment.lesson_title})",
                    due.summary(now),
                    _total(due),
                ]
            )
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            if due.overdue:
                top.setForeground(1, Qt.GlobalColor.darkRed)
            top.setData(0, Qt.ItemDataRole.UserRole, (assignment.lesson_id, ""))
            top.setToolTip(1, f"Due {assignment.due_at.astimezone():%A %d %B %Y at %H:%M}")
            for piece in due.work:
                child = QTreeWidgetItem([piece.title, piece.describe(), piece.mark_words()])
                child.setData(0, Qt.ItemDataRole.UserRole, (piece.lesson_id, piece.activity_id))
                child.setToolTip(1, piece.describe())
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(not due.complete)
        if self.tree.topLevelItemCount():  # where the pupil was stays chosen (a sync rebuilds the list)
            again = [
                item
                for item in self._items()
                if (item.data(0, Qt.ItemDataRole.UserRole), item.text(0)) == was
            ]
            self.tree.setCurrentItem(again[0] if again else self.tree.topLevelItem(0))
        if not self.assignments:
            self.status.setText("No work is set for you at the moment.")
        elif self._stored_at is None:
            self.status.setText(f"Up to date with the school server ({now.astimezone():%H:%M}).")
        self.count_changed.emit(sum(not due.complete for due in self.assignments))

    def _items(self) -> list[QTreeWidgetItem]:
        items = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            items += [top, *(top.child(j) for j in range(top.childCount()))]
        return items

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        target = item.data(0, Qt.ItemDataRole.UserRole)
        if target:
            lesson_id, activity_id = target
            self.open_requested.emit(lesson_id, activity_id)

    def text(self) -> str:
        """Everything the list says, as plain text (tests, screen readers' summaries)."""
        lines = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            lines.append(" | ".join(top.text(c) for c in range(3)))
            for j in range(top.childCount()):
                child = top.child(j)
                lines.append("  " + " | ".join(child.text(c) for c in range(3)))
        return "\n".join(lines)


def _total(due: DueAssignment) -> str:
    marked = [piece for piece in due.work if piece.score is not None and piece.max_score is not None]
    if not marked:
        return ""
    score = sum(piece.score or 0.0 for piece in marked)
    out_of = sum(piece.max_score or 0.0 for piece in marked)
    return f"{score:g} / {out_of:g} ({len(marked)} marked)"


# -- the teacher's dialog -----------------------------------------------------------------------------


class AssignmentDialog(QDialog):
    """Set work for a class, or change it: a lesson (all of it or chosen activities), a title and a due
    time. `change` holds the result (lesson id and `AssignmentSet` payload) once accepted."""

    def __init__(
        self,
        lessons: list[LessonSummary],
        class_id: int,
        class_name: str,
        existing: ClassAssignment | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.lessons = lessons
        self.class_id = class_id
        self.existing = existing
        self.change: tuple[str, dict[str, object]] | None = None
        verb = "Change work set for" if existing else "Set work for"
        self.setWindowTitle(f"{verb} {class_name}")
        self.setAccessibleName(f"{verb} {class_name}")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.lesson = QComboBox()
        self.lesson.setAccessibleName("Lesson to set")
        for summary in lessons:
            self.lesson.addItem(summary.title, summary.id)
        form.addRow("&Lesson:", self.lesson)
        self.whole = QCheckBox("The &whole lesson")
        self.whole.setAccessibleName("Set the whole lesson")
        form.addRow("", self.whole)
        self.activities = QListWidget()
        self.activities.setAccessibleName("Activities to set")
        self.activities.setMinimumHeight(120)
        form.addRow("&Activities:", self.activities)
        self.title = QLineEdit()
        self.title.setAccessibleName("Title the pupils see")
        self.title.setMaxLength(200)
        form.addRow("&Title:", self.title)
        self.due = QDateTimeEdit()
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self.due.setAccessibleName("Due date and time")
        form.addRow("&Due:", self.due)
        layout.addLayout(form)
        note = QLabel(
            "Work counts as on time when the school server receives it by the due time. Setting work "
            "works offline too: it reaches the pupils at the next sync."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Problem with the work set")
        self.error.setStyleSheet("color: #a4000f")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.addButton(
            "Save changes" if existing else "Set work", QDialogButtonBox.ButtonRole.AcceptRole
        )
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.lesson.currentIndexChanged.connect(self._lesson_chosen)
        self.whole.toggled.connect(lambda whole: self.activities.setEnabled(not whole))
        if existing is not None:
            found = self.lesson.findData(existing.lesson_id)
            self.lesson.setCurrentIndex(max(found, 0))
            self.lesson.setEnabled(False)  # a different lesson is different work: set it anew
            self._lesson_chosen()
            self.whole.setChecked(not existing.activity_ids)
            for row in range(self.activities.count()):
                item = self.activities.item(row)
                chosen = item.data(Qt.ItemDataRole.UserRole) in existing.activity_ids
                item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
            self.title.setText(existing.title)
            self.due.setDateTime(QDateTime.fromSecsSinceEpoch(int(existing.due_at.timestamp())))
        else:
            self._lesson_chosen()
            self.whole.setChecked(True)
            self.due.setDateTime(QDateTime.fromSecsSinceEpoch(int(default_due(_now()).timestamp())))
        self.activities.setEnabled(not self.whole.isChecked())

    def _lesson_chosen(self, *_args: object) -> None:
        lesson_id = self.lesson.currentData()
        summary = next((item for item in self.lessons if item.id == lesson_id), None)
        self.activities.clear()
        for activity in summary.activities if summary is not None else ():
            item = QListWidgetItem(f"{activity.title} (out of {activity.max_score:g})")
            item.setData(Qt.ItemDataRole.UserRole, activity.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.activities.addItem(item)
        if summary is not None:
            self.title.setPlaceholderText(summary.title)

    def chosen_activities(self) -> list[str]:
        if self.whole.isChecked():
            return []
        return [
            self.activities.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.activities.count())
            if self.activities.item(row).checkState() == Qt.CheckState.Checked
        ]

    def due_at(self) -> datetime:
        return datetime.fromtimestamp(self.due.dateTime().toSecsSinceEpoch(), UTC)

    def submit(self) -> None:
        lesson_id = self.lesson.currentData()
        if lesson_id is None:
            self.error.setText("Choose a lesson: this computer has no lessons yet.")
            return
        activities = self.chosen_activities()
        if not self.whole.isChecked() and not activities:
            self.error.setText("Choose at least one activity, or set the whole lesson.")
            return
        due_at = self.due_at()
        if self.existing is None and due_at <= _now():
            self.error.setText("The due time has passed already: choose a later one.")
            return
        title = self.title.text().strip() or self.title.placeholderText()
        try:
            if self.existing is not None:
                payload = self.existing.change(due_at=due_at, activity_ids=activities, title=title)
            else:
                payload = assignment_change(
                    class_id=self.class_id, due_at=due_at, activity_ids=activities, title=title
                )
        except AssignmentInputError as error:
            self.error.setText(f"This work cannot be set: {error}")
            return
        self.change = (lesson_id, payload)
        self.accept()


# -- the teacher's list ------------------------------------------------------------------------------


class ClassAssignmentsPanel(QWidget):
    """A class's assignments under the class list: choose one to show it in the grid; set, change or
    withdraw work; export marks (the class's, or the chosen assignment's) as CSV for the markbook."""

    scope_changed = Signal(object)  # AssignmentScope | None

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Assignments</b>"))
        self.list = QListWidget()
        self.list.setAccessibleName("Assignments of this class")
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self._row_chosen)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.set_button = QPushButton("Set wor&k…")
        self.set_button.setAccessibleName("Set work for this class")
        self.set_button.clicked.connect(self.set_work)
        self.change_button = QPushButton("Cha&nge…")
        self.change_button.setAccessibleName("Change the chosen assignment")
        self.change_button.clicked.connect(self.change_work)
        row.addWidget(self.set_button)
        row.addWidget(self.change_button)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.withdraw_button = QPushButton("&Withdraw")
        self.withdraw_button.setAccessibleName("Withdraw the chosen assignment")
        self.withdraw_button.clicked.connect(self.withdraw)
        self.export_button = QPushButton("E&xport marks…")
        self.export_button.setAccessibleName("Export marks as CSV for the markbook")
        self.export_button.clicked.connect(self.export_marks)
        row.addWidget(self.withdraw_button)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        QShortcut(QKeySequence("Ctrl+Shift+A"), self, self.set_work)
        self.class_id: int | None = None
        self.class_name = ""
        self.items: list[ClassAssignment] = []
        self._server: list[Assignment] = []
        self.scope: AssignmentScope | None = None
        self._want: uuid.UUID | None = None
        self.cleared = False
        ctx.events.changed.connect(self._store_changed)
        self._update_buttons()

    # -- loading ---------------------------------------------------------------------------------

    def clear(self) -> None:
        self.cleared = True
        self.class_id, self.items, self._server, self.scope, self._want = None, [], [], None, None
        self.list.blockSignals(True)
        self.list.clear()
        self.list.blockSignals(False)
        self._update_buttons()

    def set_class(self, class_id: int, class_name: str) -> None:
        if class_id != self.class_id:
            self.class_id, self.class_name, self._server = class_id, class_name, []
            self.scope = self._want = None
            self.scope_changed.emit(None)
        self.reload()

    def reload(self) -> None:
        class_id = self.class_id
        if class_id is None:
            return
        cached = self.ctx.store.cache.get(_class_cache(class_id))
        if cached is not None and not self._server:
            self._server = msgspec.json.decode(cached[0], type=list[Assignment])
        self.show_list()

        def loaded(assignments: list[Assignment]) -> None:
            if self.cleared or class_id != self.class_id:
                return
            CollectionOp(
                self.ctx,
                lambda store: store.cache.put(_class_cache(class_id), assignments),
                StoreChanges(),
                what="Keeping the class's assignments for offline use",
            ).run()
            self._server = assignments
            self.show_list(from_server=True)

        run_in_background(lambda: self.ctx.session.client.class_assignments(class_id), loaded, self._failed)

    def show_list(self, choose: uuid.UUID | None = None, *, from_server: bool = False) -> None:
        """Rebuild the list; the assignment chosen stays chosen (or `choose`, one just set). A change
        just sent stays listed, still "waiting", until the server's next list has it (`from_server`)."""
        if self.class_id is None:
            return
        store = self.ctx.store
        titles = {summary.id: summary.title for summary in store.lessons.summaries()}
        if choose is not None:
            self._want = choose
        chosen = self._want
        items = class_assignments(self._server, store.outbox.queued_assignments(), self.class_id, titles)
        if not from_server:
            listed = {item.id for item in items}
            items += [item for item in self.items if item.pending and item.id not in listed]
        self.items = items
        now = _now()
        self.list.blockSignals(True)
        self.list.clear()
        self.list.addItem("All work (no assignment)")
        row = 0
        for i, item in enumerate(self.items, start=1):
            entry = QListWidgetItem(item.label(now))
            entry.setToolTip(f"{item.lesson_title}: due {item.due_at.astimezone():%A %d %B %Y at %H:%M}")
            if item.removed:
                font = entry.font()
                font.setStrikeOut(True)
                entry.setFont(font)
            self.list.addItem(entry)
            if item.id == chosen:
                row = i
        self.list.setCurrentRow(row)
        self.list.blockSignals(False)
        self._update_buttons()
        if chosen is not None or self.scope is not None:
            self._chosen(row)

    def _row_chosen(self, row: int) -> None:
        """The teacher chose a row: remembered by id, so the same assignment stays chosen while the
        list is rebuilt (a change just sent may be missing from the server's list for a moment)."""
        item = self.chosen()
        self._want = item.id if item is not None else None
        self._chosen(row)

    def chosen(self) -> ClassAssignment | None:
        row = self.list.currentRow()
        return self.items[row - 1] if 1 <= row <= len(self.items) else None

    def _chosen(self, row: int) -> None:
        self._update_buttons()
        item = self.chosen()
        if item is None:
            if self.scope is not None:
                self.scope = None
                self.scope_changed.emit(None)
            return
        lessons = self.ctx.store.lessons.summaries()
        cached = self.ctx.store.cache.get(_progress_cache(item.id))
        progress = msgspec.json.decode(cached[0], type=AssignmentProgress) if cached is not None else None
        if item.pending:
            progress = None  # the server has not seen this version of the work yet
        self.scope = AssignmentScope(item, frozenset(item.activities(lessons)), progress)
        self.scope_changed.emit(self.scope)
        if item.pending:
            return

        def loaded(answer: AssignmentProgress) -> None:
            if self.cleared or self.scope is None or self.scope.assignment.id != item.id:
                return
            CollectionOp(
                self.ctx,
                lambda store: store.cache.put(_progress_cache(item.id), answer),
                StoreChanges(),
                what="Keeping the assignment's progress for offline use",
            ).run()
            self.scope = AssignmentScope(item, frozenset(answer.assignment.activity_ids), answer)
            self.scope_changed.emit(self.scope)

        run_in_background(lambda: self.ctx.session.client.assignment_progress(item.id), loaded, self._failed)

    def _failed(self, error: Exception) -> None:
        """Offline, the lists stay as this computer knew them (the grid's title says offline); anything
        else is said."""
        if not self.cleared and not isinstance(error, SyncError):
            self.ctx.notify("error", f"The class's assignments could not be loaded: {error}")

    def _update_buttons(self) -> None:
        item = self.chosen()
        has_class = self.class_id is not None
        self.set_button.setEnabled(has_class)
        self.change_button.setEnabled(item is not None and not item.removed)
        self.withdraw_button.setEnabled(item is not None and not item.removed)
        self.export_button.setEnabled(has_class)
        what = "the chosen assignment's marks" if item is not None else "the class's marks"
        self.export_button.setAccessibleName(f"Export {what} as CSV for the markbook")
        self.export_button.setToolTip(f"Export {what} as CSV for the markbook")

    def _store_changed(self, changes: StoreChanges) -> None:
        if changes.outbox and self.class_id is not None and not self.cleared:
            self.reload()  # an assignment set here was queued or sent: the list, then the server's

    # -- changes ---------------------------------------------------------------------------------

    def set_work(self) -> None:
        if self.class_id is None:
            return
        dialog = AssignmentDialog(
            self.ctx.store.lessons.summaries(), self.class_id, self.class_name, parent=self
        )
        self.dialog = dialog
        dialog.accepted.connect(lambda: self.queue(dialog.change))
        dialog.open()

    def change_work(self) -> None:
        item = self.chosen()
        if item is None or self.class_id is None:
            return
        dialog = AssignmentDialog(
            self.ctx.store.lessons.summaries(), self.class_id, self.class_name, existing=item, parent=self
        )
        self.dialog = dialog
        dialog.accepted.connect(lambda: self.queue(dialog.change))
        dialog.open()

    def withdraw(self) -> None:
        item = self.chosen()
        if item is None:
            return
        self.queue((item.lesson_id, item.change(removed=True)))

    def queue(self, change: tuple[str, dict[str, object]] | None) -> bool:
        """Queue the change (it shows at once, and is sent at the next sync)."""
        if change is None:
            return False
        lesson_id, payload = change
        queued = CollectionOp(
            self.ctx,
            lambda store: store.outbox.queue_assignment(lesson_id, payload),
            StoreChanges(outbox=True),
            what="Setting the work",
        ).run()
        if not queued:
            return False
        self.show_list(choose=uuid.UUID(str(payload["assignment_id"])))
        self.ctx.sync_now()
        return True

    # -- the markbook ---------------------------------------------------------------------------------

    def export_marks(self) -> None:
        """Ask the server for the CSV, then where to save it."""
        class_id, item = self.class_id, self.chosen()
        if class_id is None:
            return
        client = self.ctx.session.client
        if item is not None and item.pending:
            self.ctx.notify(
                "warning", "This assignment has not reached the school server yet: sync first (F5)."
            )
            return
        fetch = (
            (lambda: client.assignment_marks_csv(item.id))
            if item is not None
            else (lambda: client.class_marks_csv(class_id))
        )

        def fetched(result: tuple[str, bytes]) -> None:
            if self.cleared:
                return
            name, content = result
            folder = Path.home() / "Documents"
            suggested = str((folder if folder.is_dir() else Path.home()) / name)
            path, _filter = QFileDialog.getSaveFileName(self, "Export marks", suggested, "CSV files (*.csv)")
            if path:
                self.save_export(Path(path), content)

        def failed(error: Exception) -> None:
            if isinstance(error, SyncError):
                self.ctx.notify(
                    "error", f"Exporting marks needs the school server, which cannot be reached now: {error}"
                )
            else:
                self.ctx.notify("error", f"The marks could not be exported: {error}")

        run_in_background(fetch, fetched, failed)

    def save_export(self, path: Path, content: bytes) -> bool:
        """Write the CSV; say where, and what is not in it yet (marks made here still queued)."""
        try:
            path.write_bytes(content)
        except OSError as error:
            self.ctx.notify("error", f"The marks could not be saved to {path}: {error.strerror or error}")
            return False
        waiting = sum(1 for op in self.ctx.store.outbox.pending_operations() if op.kind == "mark.set")
        note = (
            f" {waiting} mark(s) made on this computer are still waiting to sync and are not in it."
            if waiting
            else ""
        )
        self.ctx.notify("info", f"Marks exported to {path}.{note}")
        return True


def describe_scope(scope: AssignmentScope, now: datetime) -> str:
    """The grid's title line for an assignment."""
    item = scope.assignment
    words = "withdrawn" if item.removed else due_words(item.due_at, now)
    title = html.escape(item.title or item.lesson_title)
    waiting = (
        " <i>(waiting to sync: who handed in what is known once the server has it)</i>"
        if item.pending
        else ""
    )
    return f"<b>{title}</b> — {words}{waiting}"
