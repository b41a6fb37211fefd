"""Teacher mode: classes, the progress grid (pupils × activities, coloured by state and mark) and the
marking panel with a keyboard flow (Alt+Down / Alt+Up for the next / previous pupil, Ctrl+Return to save).
Marks go through the outbox like any answer, so marking works offline."""

from __future__ import annotations

import dataclasses
import html
import math

import msgspec

from desktop.core.errors import StoreError, SyncError
from desktop.ui.background import run_in_background
from desktop.ui.code_editor import CodeEditor
from desktop.ui.context import UiContext
from desktop.ui.history import describe_state, when
from desktop.ui.markdown import render_markdown
from desktop.ui.qt import (
    QAbstractItemView,
    QAbstractTableModel,
    QColor,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QModelIndex,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QShortcut,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
)
from shared.lessons.model import Activity, ActivitySummary, ChoiceActivity, CodeActivity, TextActivity
from shared.wire.marks import Mark
from shared.wire.teaching import ClassProgress, ProgressCell, TeacherClass

__all__ = ["MarkingPanel", "ProgressGridModel", "TeacherView"]

COLOURS = {
    "empty": "#f1f3f5",
    "answered": "#ffe08a",
    "pending": "#a9cbff",
    "full": "#8fd19e",
    "partial": "#c8e6c9",
    "zero": "#f4b6b6",
}


@dataclasses.dataclass(frozen=True)
class Column:
    lesson_id: str
    lesson_title: str
    activity: ActivitySummary


class ProgressGridModel(QAbstractTableModel):
    def __init__(self, ctx: UiContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.progress: ClassProgress | None = None
        self.columns: list[Column] = []
        self._cells: dict[tuple[int, str, str], ProgressCell] = {}

    def set_progress(self, progress: ClassProgress | None) -> None:
        self.beginResetModel()
        self.progress = progress
        self.columns = [
            Column(lesson.id, lesson.title, activity)
            for lesson in self.ctx.store.lesson_summaries()
            for activity in lesson.activities
        ]
        self._cells = {}
        if progress is not None:
            self._cells = {(c.pupil_id, c.lesson_id, c.activity_id): c for c in progress.cells}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() or self.progress is None else len(self.progress.pupils)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def pupil(self, row: int):
        assert self.progress is not None
        return self.progress.pupils[row]

    def cell_state(self, row: int, column: int) -> tuple[str, Mark | None, ProgressCell | None]:
        pupil = self.pupil(row)
        col = self.columns[column]
        key = (pupil.id, col.lesson_id, col.activity.id)
        cell = self._cells.get(key)
        local = self.ctx.store.mark(*key)
        if self.ctx.store.mark_pending(*key):
            return "pending", local, cell
        mark = local or (cell.mark if cell else None)
        if mark is not None:
            if mark.score >= mark.max_score:
                return "full", mark, cell
            return ("partial" if mark.score > 0 else "zero"), mark, cell
        if cell is not None or self.ctx.store.current_revision(*key) is not None:
            return "answered", None, cell
        return "empty", None, cell

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        state, mark, _cell = self.cell_state(index.row(), index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if mark is not None:
                prefix = "↻ " if state == "pending" else ""
                return f"{prefix}{mark.score:g}/{mark.max_score:g}"
            return "●" if state == "answered" else ""
        if role == Qt.ItemDataRole.BackgroundRole:
            return QColor(COLOURS[state])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            pupil = self.pupil(index.row())
            column = self.columns[index.column()]
            words = {
                "empty": "not answered",
                "answered": "answered, not marked",
                "pending": "marked here, waiting to sync",
                "full": "marked, full marks",
                "partial": "marked",
                "zero": "marked, no marks",
            }[state]
            score = f" ({mark.score:g}/{mark.max_score:g})" if mark else ""
            if mark is not None and mark.source == "auto" and mark.revision is not None:
                score += f", automatic mark of version {mark.revision}"
            return f"{pupil.display_name}, {column.activity.title}: {words}{score}"
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if orientation == Qt.Orientation.Horizontal:
            if section >= len(self.columns):
                return None
            column = self.columns[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{column.lesson_title}: {column.activity.title}"
            return column.activity.title
        if self.progress is None or section >= len(self.progress.pupils):
            return None
        return self.progress.pupils[section].display_name


class MarkingPanel(QWidget):
    """Mark one pupil's answer; Alt+Down / Alt+Up move to the next / previous pupil."""

    mark_saved = Signal()
    move_requested = Signal(int)  # +1 next pupil, -1 previous

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setAccessibleName("Marking")
        self.target: tuple[object, Column] | None = None
        layout = QVBoxLayout(self)
        self.heading = QLabel("Choose a cell in the grid (Enter) to mark it.")
        # One line, cut if need be (the tooltip has it all): a word-wrapped label inside a scroll area is
        # laid out for its narrowest width, many lines tall, squeezing the answer below it.
        # Plain text too: a rich-text label asks for its height at its narrowest width as well.
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.heading.setAccessibleName("Pupil and activity being marked")
        layout.addWidget(self.heading)
        # The answer and, beside it, the mark scheme: one above the other in a splitter the teacher can
        # drag. Code answers are shown as code: monospace, unwrapped, with line numbers.
        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setTabChangesFocus(True)
        self.answer.setAccessibleName("Pupil's answer")
        self.code_answer = CodeEditor()
        self.code_answer.setReadOnly(True)
        self.code_answer.setTabChangesFocus(True)
        self.code_answer.setAccessibleName("Pupil's code")
        self.scheme = QLabel("")
        self.scheme.setWordWrap(True)
        self.scheme.setTextFormat(Qt.TextFormat.RichText)
        self.scheme.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scheme.setAccessibleName("Mark scheme")
        self.scheme.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.model_answer = CodeEditor()
        self.model_answer.setReadOnly(True)
        self.model_answer.setTabChangesFocus(True)
        self.model_answer.setAccessibleName("Model answer")
        self.model_answer.hide()
        scheme_box = QWidget()
        scheme_layout = QVBoxLayout(scheme_box)
        scheme_layout.setContentsMargins(0, 0, 0, 0)
        scheme_layout.addWidget(self.scheme)
        scheme_layout.addWidget(self.model_answer, 1)
        scheme_scroll = QScrollArea()
        scheme_scroll.setWidgetResizable(True)
        scheme_scroll.setWidget(scheme_box)
        scheme_scroll.setAccessibleName("Mark scheme (teachers only)")
        answer_box = self.answer_stack = QStackedWidget()
        answer_box.addWidget(self.answer)
        answer_box.addWidget(self.code_answer)
        self.answer_split = QSplitter(Qt.Orientation.Vertical)
        self.answer_split.setChildrenCollapsible(False)
        self.answer_split.addWidget(answer_box)
        self.answer_split.addWidget(scheme_scroll)
        self.answer_split.setStretchFactor(0, 1)
        self.answer_split.setStretchFactor(1, 1)
        self.answer_split.setSizes([300, 300])  # half each, whatever the content asks for
        layout.addWidget(self.answer_split, 3)
        self.revisions = QListWidget()
        self.revisions.setAccessibleName("Versions of the answer")
        self.revisions.setMaximumHeight(80)
        self.revisions.currentRowChanged.connect(self._show_revision)
        layout.addWidget(QLabel("Versions:"))
        layout.addWidget(self.revisions)
        form = QFormLayout()
        # A line edit checked on save, not a spin box: a spin box given 7 for a 2-mark question quietly
        # keeps its old value (0) and the teacher never knows.
        self.score = QLineEdit()
        self.score.setAccessibleName("Score")
        self.score.setMaximumWidth(90)
        self.out_of = QLabel("")
        self.out_of.setAccessibleName("Maximum score")
        score_row = QHBoxLayout()
        score_row.addWidget(self.score)
        score_row.addWidget(self.out_of)
        score_row.addStretch(1)
        self.score_error = QLabel("")
        self.score_error.setWordWrap(True)
        self.score_error.setStyleSheet("color: #b00020;")
        self.score_error.setAccessibleName("Score problem")
        self.score_error.hide()
        self.feedback = QPlainTextEdit()
        self.feedback.setTabChangesFocus(True)
        self.feedback.setAccessibleName("Feedback")
        self.feedback.setMaximumHeight(110)
        self.feedback.setMinimumHeight(48)
        score_label = QLabel("&Score:")
        score_label.setBuddy(self.score)
        form.addRow(score_label, score_row)
        form.addRow("", self.score_error)
        form.addRow("&Feedback:", self.feedback)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.previous_button = QPushButton("◀ Previous pupil")
        self.previous_button.setToolTip("Alt+Up")
        self.previous_button.setAccessibleName("Previous pupil")
        self.next_button = QPushButton("Next pupil ▶")
        self.next_button.setToolTip("Alt+Down")
        self.next_button.setAccessibleName("Next pupil")
        self.save_button = QPushButton("Save mark")
        self.save_button.setToolTip("Ctrl+Return")
        self.save_button.setAccessibleName("Save mark")
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.state_label = QLabel("")
        self.state_label.setAccessibleName("Mark state")
        layout.addWidget(self.state_label)
        self.previous_button.clicked.connect(lambda: self.move_requested.emit(-1))
        self.next_button.clicked.connect(lambda: self.move_requested.emit(1))
        self.save_button.clicked.connect(self.save_mark)
        for keys, slot in (
            ("Alt+Up", lambda: self.move_requested.emit(-1)),
            ("Alt+Down", lambda: self.move_requested.emit(1)),
            ("Ctrl+Return", self.save_mark),
            ("Ctrl+S", self.save_mark),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._revisions: list[tuple[int, dict, object, bool]] = []
        self._options: list[str] | None = None
        self.setEnabled(False)

    def clear(self) -> None:
        self.target = None
        self._revisions = []
        self._options = None
        self.heading.setText("")
        self.answer.clear()
        self.code_answer.clear()
        self.scheme.clear()
        self.model_answer.clear()
        self.score.clear()
        self.revisions.clear()
        self.feedback.clear()
        self.state_label.setText("")
        self.setEnabled(False)

    def show_cell(self, pupil, column: Column) -> None:
        self.setEnabled(True)
        self.target = (pupil, column)
        heading = f"{pupil.display_name} — {column.lesson_title}: {column.activity.title}"
        self.heading.setText(heading)
        self.heading.setToolTip(heading)
        lesson = self.ctx.store.lesson(column.lesson_id)
        self._options = None
        activity = None
        if lesson is not None:
            try:
                activity = lesson.activity(column.activity.id)
            except KeyError:
                activity = None
            if isinstance(activity, ChoiceActivity):
                self._options = activity.options
        self._show_scheme(column, activity)
        is_code = column.activity.kind == "code"
        self.answer_stack.setCurrentWidget(self.code_answer if is_code else self.answer)
        self.out_of.setText(f"out of {column.activity.max_score:g}")
        self.score_error.hide()
        mark = self.ctx.store.mark(pupil.id, column.lesson_id, column.activity.id)
        self.score.setText(f"{mark.score:g}" if mark else "")
        self.feedback.setPlainText(mark.feedback if mark else "")
        self._update_state_label()
        local = self.ctx.store.revisions(pupil.id, column.lesson_id, column.activity.id)
        self._set_revisions([(r.revision, r.state, r.client_time, r.current) for r in local])
        client = self.ctx.session.client
        key = (pupil.id, column.lesson_id, column.activity.id)
        run_in_background(
            lambda: client.revisions(column.lesson_id, column.activity.id, pupil.id),
            lambda result: self._server_revisions(key, result),
            lambda error: None,
        )
        self.score.setFocus()
        self.score.selectAll()

    def _server_revisions(self, key, result) -> None:
        if self.target is None:
            return
        pupil, column = self.target
        if key != (pupil.id, column.lesson_id, column.activity.id):
            return  # the teacher already moved on
        revisions = sorted(result.revisions, key=lambda r: r.revision, reverse=True)
        self._set_revisions([(r.revision, r.state, r.client_time, r.current) for r in revisions])

    def _set_revisions(self, revisions) -> None:
        self._revisions = revisions
        self.revisions.clear()
        for number, _state, client_time, current in revisions:
            self.revisions.addItem(
                QListWidgetItem(f"Version {number} · {when(client_time)}{'  ← current' if current else ''}")
            )
        if not revisions:
            self.answer.setPlainText("No answer has reached the server yet.")
            return
        current_row = next((i for i, r in enumerate(revisions) if r[3]), 0)
        self.revisions.setCurrentRow(current_row)

    def _show_revision(self, row: int) -> None:
        if 0 <= row < len(self._revisions):
            text = describe_state(self._revisions[row][1], self._options)
            self.answer.setPlainText(text)
            self.code_answer.setPlainText(text)

    def _show_scheme(self, column: Column, activity: Activity | None) -> None:
        """What a mark is judged against: the maximum, and (teachers only, from the teacher's copy of
        the lesson) the correct options, the model answer, the mark scheme, the tests."""
        out_of = column.activity.max_score
        parts = [f"<b>Mark scheme</b> — out of <b>{out_of:g}</b> mark{'s' if out_of != 1 else ''}"]
        model = None
        if isinstance(activity, ChoiceActivity):
            if activity.correct:
                right = [
                    f"{chr(ord('a') + i)}) {html.escape(activity.options[i])}"
                    for i in activity.correct
                    if 0 <= i < len(activity.options)
                ]
                parts.append("Correct: " + ", ".join(right))
            else:
                parts.append("<i>No correct option recorded for this question.</i>")
        elif isinstance(activity, TextActivity):
            parts.append(
                render_markdown(activity.mark_scheme)
                if activity.mark_scheme
                else "<i>No mark scheme written for this question.</i>"
            )
        elif isinstance(activity, CodeActivity):
            if activity.tests:
                names = ", ".join(
                    html.escape(t.name) + (" (hidden)" if t.hidden else "") for t in activity.tests
                )
                parts.append(f"Tests: {names}")
            model = activity.model_answer
            parts.append("Model answer:" if model else "<i>No model answer for this question.</i>")
        elif activity is None:
            parts.append("<i>This lesson is not downloaded on this computer yet.</i>")
        self.scheme.setText("<br>".join(parts))
        self.model_answer.setPlainText(model or "")
        self.model_answer.setVisible(bool(model))

    def score_value(self) -> float | None:
        """The score typed, if it is a number from 0 to the question's maximum; otherwise None and
        the reason is shown beside the box."""
        if self.target is None:
            return None
        _pupil, column = self.target
        out_of = column.activity.max_score
        text = self.score.text().strip().replace(",", ".")
        problem = None
        try:
            value = float(text)
        except ValueError:
            value = None
            problem = "Type a score, a number" if not text else f"“{text}” is not a number"
        if value is not None and not (math.isfinite(value) and 0 <= value <= out_of):
            problem = (
                f"{value:g} is more than this question is worth" if value > out_of else "No negative scores"
            )
            value = None
        if problem is not None:
            self.score_error.setText(f"{problem}: give 0 to {out_of:g}. The mark was not saved.")
            self.score_error.show()
            self.score.setFocus()
            self.score.selectAll()
            return None
        self.score_error.hide()
        return value

    def _update_state_label(self) -> None:
        if self.target is None:
            return
        pupil, column = self.target
        mark = self.ctx.store.mark(pupil.id, column.lesson_id, column.activity.id)
        if self.ctx.store.mark_pending(pupil.id, column.lesson_id, column.activity.id):
            self.state_label.setText("Mark saved here · waiting to sync")
        elif mark is not None and mark.source == "auto":
            version = f" of version {mark.revision}" if mark.revision is not None else ""
            self.state_label.setText(f"Automatic mark{version} (the server's sandbox) · yours replaces it")
        elif mark is not None:
            self.state_label.setText("Mark synced")
        else:
            self.state_label.setText("Not marked yet")

    def save_mark(self) -> None:
        if self.target is None:
            return
        pupil, column = self.target
        score = self.score_value()
        if score is None:
            return
        try:
            self.ctx.store.queue_mark(
                pupil.id,
                column.lesson_id,
                column.activity.id,
                score=score,
                max_score=column.activity.max_score,
                feedback=self.feedback.toPlainText(),
                marker=self.ctx.session.username,
            )
        except StoreError as error:
            self.ctx.notify("error", str(error))
            return
        self._update_state_label()
        self.mark_saved.emit()
        self.ctx.sync_now()


class TeacherView(QWidget):
    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setAccessibleName("Classes")
        layout = QHBoxLayout(self)
        self.splitter = splitter = QSplitter()
        splitter.setObjectName("classes-splitter")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Classes</b>"))
        self.classes = QListWidget()
        self.classes.setAccessibleName("Your classes")
        self.classes.setMinimumWidth(120)
        self.classes.currentRowChanged.connect(self._class_chosen)
        left_layout.addWidget(self.classes)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh classes and progress")
        self.refresh_button.clicked.connect(self.reload)
        left_layout.addWidget(self.refresh_button)
        self.grid_model = ProgressGridModel(ctx, self)
        self.grid = QTableView()
        self.grid.setModel(self.grid_model)
        self.grid.setAccessibleName("Progress grid: pupils by activities")
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.grid.activated.connect(self._cell_activated)
        self.grid.doubleClicked.connect(self._cell_activated)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        self.progress_title = QLabel("<b>Progress</b>")
        middle_layout.addWidget(self.progress_title)
        middle_layout.addWidget(self.grid)
        legend = QLabel(
            " ".join(
                f'<span style="background:{COLOURS[k]}">&nbsp;{label}&nbsp;</span>'
                for k, label in (
                    ("empty", "not answered"),
                    ("answered", "answered"),
                    ("pending", "mark waiting to sync"),
                    ("partial", "marked"),
                    ("full", "full marks"),
                    ("zero", "no marks"),
                )
            )
        )
        legend.setAccessibleName("Colour legend")
        legend.setWordWrap(True)
        middle_layout.addWidget(legend)
        self.marking = MarkingPanel(ctx)
        self.marking.move_requested.connect(self.move_pupil)
        self.marking.mark_saved.connect(self._mark_saved)
        splitter.addWidget(left)
        splitter.addWidget(middle)
        # The marking panel scrolls rather than pushing the window past a small screen's edge.
        self.marking_scroll = QScrollArea()
        self.marking_scroll.setWidgetResizable(True)
        self.marking_scroll.setWidget(self.marking)
        self.marking_scroll.setAccessibleName("Marking panel")
        splitter.addWidget(self.marking_scroll)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([150, 420, 480])
        layout.addWidget(splitter)
        self.class_list: list[TeacherClass] = []
        self.current_class: int | None = None
        self.cleared = False

    def clear(self) -> None:
        """Forget everything shown (at logout): classes, the grid and the marking panel. Answers from
        the server still on their way are dropped when they arrive."""
        self.cleared = True
        self.class_list = []
        self.current_class = None
        self.classes.blockSignals(True)
        self.classes.clear()
        self.classes.blockSignals(False)
        self.grid_model.set_progress(None)
        self.marking.clear()

    # -- loading (online, else from the cache) --------------------------------------------------------

    def reload(self) -> None:
        cached = self.ctx.store.cache_get("teacher:classes")
        if cached is not None:
            self._show_classes(msgspec.json.decode(cached[0], type=list[TeacherClass]))
        client = self.ctx.session.client
        run_in_background(client.teacher_classes, self._classes_loaded, self._offline)

    def _classes_loaded(self, classes: list[TeacherClass]) -> None:
        if self.cleared:
            return
        self.ctx.store.cache_put("teacher:classes", classes)
        self._show_classes(classes)

    def _offline(self, error: Exception) -> None:
        if self.cleared:
            return
        if isinstance(error, SyncError):
            self.progress_title.setText(self.progress_title.text() + " <i>(offline: last known progress)</i>")

    def _show_classes(self, classes: list[TeacherClass]) -> None:
        previous = self.current_class
        self.class_list = classes
        self.classes.blockSignals(True)
        self.classes.clear()
        for item in classes:
            self.classes.addItem(f"{item.name} ({item.pupil_count})")
        self.classes.blockSignals(False)
        row = next((i for i, c in enumerate(classes) if c.id == previous), 0)
        if classes:
            self.classes.setCurrentRow(row)
            self._class_chosen(row)

    def _class_chosen(self, row: int) -> None:
        if not 0 <= row < len(self.class_list):
            return
        chosen = self.class_list[row]
        self.current_class = chosen.id
        key = f"teacher:progress:{chosen.id}"
        cached = self.ctx.store.cache_get(key)
        self.progress_title.setText(f"<b>Progress: {chosen.name}</b>")
        if cached is not None:
            self.grid_model.set_progress(msgspec.json.decode(cached[0], type=ClassProgress))
        client = self.ctx.session.client

        def loaded(progress: ClassProgress) -> None:
            if self.cleared:
                return
            self.ctx.store.cache_put(key, progress)
            if self.current_class == progress.class_id:
                self._keep_selection(lambda: self.grid_model.set_progress(progress))

        run_in_background(lambda: client.class_progress(chosen.id), loaded, self._offline)

    def _keep_selection(self, change) -> None:
        index = self.grid.currentIndex()
        change()
        if index.isValid():
            self.grid.setCurrentIndex(self.grid_model.index(index.row(), index.column()))

    def refresh(self) -> None:
        """After a sync: recolour (pending marks may have been sent) and fetch progress again."""
        self._keep_selection(lambda: self.grid_model.set_progress(self.grid_model.progress))
        self.marking._update_state_label()
        if self.current_class is not None:
            row = next((i for i, c in enumerate(self.class_list) if c.id == self.current_class), -1)
            if row >= 0:
                self._class_chosen(row)

    # -- marking flow ---------------------------------------------------------------------------

    def _cell_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_cell(index.row(), index.column())

    def open_cell(self, row: int, column: int) -> None:
        self.grid.setCurrentIndex(self.grid_model.index(row, column))
        self.marking.show_cell(self.grid_model.pupil(row), self.grid_model.columns[column])

    def move_pupil(self, step: int) -> None:
        index = self.grid.currentIndex()
        if not index.isValid():
            return
        row = index.row() + step
        if 0 <= row < self.grid_model.rowCount():
            self.open_cell(row, index.column())

    def _mark_saved(self) -> None:
        index = self.grid.currentIndex()
        self.grid_model.dataChanged.emit(index, index)
