"""Teacher mode: classes, the progress grid (pupils × activities, coloured by state and mark) and the
marking panel with a keyboard flow (Alt+Down / Alt+Up for the next / previous pupil, Ctrl+Return to save).
Marks go through the outbox like any answer, so marking works offline."""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime

import msgspec

from desktop.core.assignments import AssignmentScope
from desktop.core.class_progress import (
    ArchivedCell,
    GridCell,
    GridColumn,
    GridSnapshot,
    PupilTotals,
    load_snapshot,
    with_mark,
)
from desktop.core.errors import SyncError
from desktop.ui.assignments import ClassAssignmentsPanel, describe_scope
from desktop.ui.background import run_in_background
from desktop.ui.code_editor import CodeEditor
from desktop.ui.context import UiContext
from desktop.ui.history import describe_state, when
from desktop.ui.markdown import render_markdown
from desktop.ui.operations import CollectionOp, QueryOp, StoreChanges
from desktop.ui.puzzle_activities import describe_puzzle_answer, puzzle_scheme
from desktop.ui.qt import (
    QAbstractItemView,
    QAbstractTableModel,
    QColor,
    QComboBox,
    QDialog,
    QEvent,
    QFont,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QModelIndex,
    QPainter,
    QPlainTextEdit,
    QPushButton,
    QRect,
    QScrollArea,
    QShortcut,
    QSize,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
)
from shared.lessons.model import Activity, ChoiceActivity, CodeActivity, TextActivity
from shared.lessons.puzzles import Puzzle
from shared.wire.auth import User
from shared.wire.marks import Mark
from shared.wire.teaching import ClassProgress, TeacherClass

__all__ = [
    "ArchivedAnswersDialog",
    "LessonHeader",
    "MarkingPanel",
    "ProgressGridModel",
    "PupilHeader",
    "TeacherView",
]

COLOURS = {
    "empty": "#f1f3f5",
    "answered": "#ffe08a",
    "pending": "#a9cbff",
    "full": "#8fd19e",
    "partial": "#c8e6c9",
    "zero": "#f4b6b6",
}


#: The grid's columns: a lesson's activity (desktop.core.class_progress builds them).
Column = GridColumn

#: Header roles: the lesson an activity column belongs to, and a pupil's totals beside their name.
LESSON_ROLE = Qt.ItemDataRole.UserRole + 1
TOTALS_ROLE = Qt.ItemDataRole.UserRole + 2

STATE_WORDS = {
    "empty": "not answered",
    "answered": "answered, not marked",
    "pending": "marked here, waiting to sync",
    "full": "marked, full marks",
    "partial": "marked",
    "zero": "marked, no marks",
}


def totals_text(totals: PupilTotals) -> str:
    """What the grid prints beside a pupil's name: marks / maximum, answered / activities."""
    return f"{totals.score:g}/{totals.max_score:g} · {totals.answered}/{totals.activities}"


def totals_words(totals: PupilTotals) -> str:
    return (
        f"{totals.score:g} of {totals.max_score:g} marks; {totals.answered} of {totals.activities} "
        f"activities answered, {totals.marked} marked, {totals.unmarked} to mark"
    )


class ProgressGridModel(QAbstractTableModel):
    """Pupils × activities of one class, read from a `GridSnapshot` built once per refresh (off the UI
    thread by `refresh`): `data` and painting never touch the store. Filtered by lesson (the columns)
    and by pupil name (the rows); totals per pupil are for the lesson shown, or for every lesson."""

    snapshot_changed = Signal()

    def __init__(self, ctx: UiContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.progress: ClassProgress | None = None
        self.snapshot: GridSnapshot | None = None
        self.columns: list[GridColumn] = []
        self.rows: list[User] = []
        self.lesson_filter: str | None = None
        self.name_filter = ""
        #: one assignment shown: its activities only, with who handed in on time, late or not at all
        self.assignment: AssignmentScope | None = None
        self._assignment_totals: dict[int, PupilTotals] = {}
        self._lesson_spans: list[tuple[int, int]] = []
        self._generation = 0

    # -- filling -----------------------------------------------------------------------------------

    def set_progress(self, progress: ClassProgress | None) -> None:
        """Build the snapshot here and now (tests, and the empty grid at logout)."""
        self._generation += 1
        snapshot = None if progress is None else load_snapshot(self.ctx.store, progress)
        self.set_snapshot(snapshot, progress)

    def refresh(self, progress: ClassProgress | None, on_done=None) -> None:
        """Build the snapshot off the UI thread and show it when ready; a refresh started later wins."""
        self._generation += 1
        generation = self._generation
        if progress is None:
            self.set_snapshot(None, None)
            return

        def built(snapshot: GridSnapshot) -> None:
            if generation == self._generation:
                self.set_snapshot(snapshot, progress)
                if on_done is not None:
                    on_done()

        def failed(error: Exception) -> None:
            if generation == self._generation:  # not after a logout, nor when a newer refresh is on its way
                self.ctx.notify("error", f"The class grid could not be refreshed: {error}")

        read = QueryOp(self.ctx, lambda store: load_snapshot(store, progress), what="Refreshing the grid")
        read.success(built).failure(failed).run_in_background()

    def set_snapshot(self, snapshot: GridSnapshot | None, progress: ClassProgress | None) -> None:
        self.beginResetModel()
        self.snapshot = snapshot
        self.progress = progress
        self._apply_filters()
        self.endResetModel()
        self.snapshot_changed.emit()

    def set_filters(self, lesson_id: str | None, name: str) -> None:
        if (lesson_id, name) == (self.lesson_filter, self.name_filter):
            return
        self.beginResetModel()
        self.lesson_filter = lesson_id
        self.name_filter = name
        self._apply_filters()
        self.endResetModel()

    def set_assignment(self, scope: AssignmentScope | None) -> None:
        """Show one assignment (its activities; totals and hand-in over them), or everything again."""
        self.beginResetModel()
        self.assignment = scope
        self._apply_filters()
        self.endResetModel()
        if self.rows:  # the names' column widens to the longer totals (the header caches its width)
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, len(self.rows) - 1)

    def show_mark(self, mark: Mark, *, pending: bool) -> None:
        """A mark just saved here: its cell and the pupil's totals change at once, no query."""
        if self.snapshot is None:
            return
        self.snapshot = with_mark(self.snapshot, mark, pending=pending)
        if self.assignment is not None:
            self._total_assignment()
        row = self.row_of(mark.pupil_id)
        column = self.column_of(mark.lesson_id, mark.activity_id)
        if row >= 0 and column >= 0:
            self.dataChanged.emit(self.index(row, column), self.index(row, column))
            self.headerDataChanged.emit(Qt.Orientation.Vertical, row, row)

    def _apply_filters(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            self.columns, self.rows, self._lesson_spans = [], [], []
            return
        lessons = {lesson.id for lesson in snapshot.lessons}
        if self.lesson_filter not in lessons:
            self.lesson_filter = None
        scope = self.assignment
        if scope is not None:
            self.columns = [
                c
                for c in snapshot.columns
                if c.lesson_id == scope.assignment.lesson_id and c.activity.id in scope.activity_ids
            ]
        else:
            self.columns = [c for c in snapshot.columns if self.lesson_filter in (None, c.lesson_id)]
        needle = self.name_filter.strip().casefold()
        # No rows before the lesson list is known (a first login, lessons still downloading): the grid
        # fills in once, when the next refresh has both.
        self.rows = [
            p
            for p in snapshot.pupils
            if snapshot.columns
            and (not needle or needle in p.display_name.casefold() or needle in p.username.casefold())
        ]
        spans: list[tuple[int, int]] = []
        first = 0
        for i, column in enumerate(self.columns):
            if i + 1 == len(self.columns) or self.columns[i + 1].lesson_id != column.lesson_id:
                spans.extend([(first, i)] * (i - first + 1))
                first = i + 1
        self._lesson_spans = spans
        self._total_assignment()

    def _total_assignment(self) -> None:
        """Totals per pupil over the assignment's activities (computed once, not as the grid paints)."""
        self._assignment_totals = {}
        if self.assignment is None or self.snapshot is None:
            return
        for pupil in self.snapshot.pupils:
            totals = PupilTotals()
            for column in self.columns:
                totals = totals.add(self.snapshot.cell(pupil.id, column), column.activity)
            self._assignment_totals[pupil.id] = totals

    # -- reading (snapshot only) ---------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.columns)

    def pupil(self, row: int) -> User:
        return self.rows[row]

    def row_of(self, pupil_id: int) -> int:
        return next((i for i, p in enumerate(self.rows) if p.id == pupil_id), -1)

    def column_of(self, lesson_id: str, activity_id: str) -> int:
        return next(
            (
                i
                for i, c in enumerate(self.columns)
                if (c.lesson_id, c.activity.id) == (lesson_id, activity_id)
            ),
            -1,
        )

    def lesson_span(self, column: int) -> tuple[int, int]:
        """The first and last column of the lesson `column` belongs to."""
        return self._lesson_spans[column]

    def cell(self, row: int, column: int) -> GridCell:
        assert self.snapshot is not None
        return self.snapshot.cell(self.rows[row].id, self.columns[column])

    def cell_state(self, row: int, column: int) -> tuple[str, Mark | None, GridCell]:
        cell = self.cell(row, column)
        return cell.state, cell.mark, cell

    def totals(self, row: int) -> PupilTotals:
        assert self.snapshot is not None
        if self.assignment is not None:
            return self._assignment_totals.get(self.rows[row].id, PupilTotals())
        return self.snapshot.total(self.rows[row].id, self.lesson_filter)

    def handed_in(self, row: int, column: int) -> str:
        """With an assignment shown: “on time”, “late” or “missing” by the server's receipt, else ""."""
        if self.assignment is None:
            return ""
        work = self.assignment.work(self.rows[row].id, self.columns[column].activity.id)
        return "" if work is None else work.status.replace("_", " ")

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.snapshot is None:
            return None
        if role not in _CELL_ROLES:
            return None
        cell = self.cell(index.row(), index.column())
        state, mark = cell.state, cell.mark
        if role == Qt.ItemDataRole.DisplayRole:
            handed_in = self.handed_in(index.row(), index.column())  # the server's receipt, if shown
            late = " late" if handed_in == "late" else ""
            if mark is not None:
                prefix = "↻ " if state == "pending" else ""
                return f"{prefix}{mark.score:g}/{mark.max_score:g}{late}"
            return f"●{late}" if state == "answered" or handed_in in ("on time", "late") else ""
        if role == Qt.ItemDataRole.BackgroundRole:
            return _BRUSHES[state]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        pupil = self.rows[index.row()]
        column = self.columns[index.column()]
        score = f" ({mark.score:g}/{mark.max_score:g})" if mark else ""
        if mark is not None and mark.source == "auto" and mark.revision is not None:
            score += f", automatic mark of version {mark.revision}"
        handed = ""
        if self.assignment is not None:
            work = self.assignment.work(pupil.id, column.activity.id)
            if work is not None and work.received_at is not None:
                handed = f"; handed in {work.status.replace('_', ' ')}, received {when(work.received_at)}"
            elif work is not None:
                handed = "; not handed in"
        return f"{pupil.display_name}, {column.activity.title}: {STATE_WORDS[state]}{score}{handed}"

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self.columns):
                return None
            column = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.activity.title
            if role == LESSON_ROLE:
                return column.lesson_title
            if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
                return (
                    f"{column.lesson_title}: {column.activity.title} (out of {column.activity.max_score:g})"
                )
            return None
        if not 0 <= section < len(self.rows):
            return None
        pupil = self.rows[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return pupil.display_name
        counts = self.assignment.counts(pupil.id) if self.assignment is not None else None
        if role == TOTALS_ROLE:
            text = totals_text(self.totals(section))
            if counts is not None:  # only what is there: "2 on time, 1 late", "4 missing"
                words = [f"{n} {w}" for n, w in zip(counts, ("on time", "late", "missing"), strict=True) if n]
                text += " · " + ", ".join(words) if words else ""
            return text
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            scope = self._scope_title()
            text = f"{pupil.display_name} ({scope}): {totals_words(self.totals(section))}"
            if counts is not None:
                text += f"; handed in on time {counts[0]}, late {counts[1]}, missing {counts[2]}"
            return text
        return None

    def _scope_title(self) -> str:
        if self.assignment is not None:
            item = self.assignment.assignment
            return f"assignment {item.title or item.lesson_title}"
        if self.snapshot is None or self.lesson_filter is None:
            return "all lessons"
        return next((lesson.title for lesson in self.snapshot.lessons if lesson.id == self.lesson_filter), "")


_CELL_ROLES = {
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
}
_BRUSHES = {state: QColor(colour) for state, colour in COLOURS.items()}


class LessonHeader(QHeaderView):
    """The grid's column header in two bands: the lesson, spanning its activities (its title kept in
    sight while the grid scrolls sideways), and under it each activity's title."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)
        self.setHighlightSections(True)

    def sectionSizeFromContents(self, logical_index: int) -> QSize:  # noqa: N802 - Qt API
        size = super().sectionSizeFromContents(logical_index)
        return QSize(size.width(), size.height() + self.fontMetrics().height() + 8)

    def paintSection(self, painter: QPainter, rect: QRect, logical_index: int) -> None:  # noqa: N802
        model = self.model()
        band_height = self.fontMetrics().height() + 8
        lower = QRect(rect.x(), rect.y() + band_height, rect.width(), rect.height() - band_height)
        painter.save()
        super().paintSection(painter, lower, logical_index)
        painter.restore()
        if not isinstance(model, ProgressGridModel) or not 0 <= logical_index < len(model.columns):
            return
        first, last = model.lesson_span(logical_index)
        left = self.sectionViewportPosition(first)
        right = self.sectionViewportPosition(last) + self.sectionSize(last)
        band = QRect(left, rect.y(), right - left, band_height)
        painter.save()
        painter.setClipRect(QRect(rect.x(), rect.y(), rect.width(), band_height))
        painter.fillRect(band, QColor("#dfe5ee"))
        painter.setPen(QColor("#8a94a6"))
        painter.drawLine(band.left(), band.top(), band.left(), rect.bottom())
        painter.drawLine(band.left(), band.bottom(), band.right(), band.bottom())
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#1c2433"))
        title = str(model.headerData(logical_index, Qt.Orientation.Horizontal, LESSON_ROLE) or "")
        text_left = max(band.left(), 0) + 6  # the lesson's title stays in sight while scrolling
        # ... and is cut with "…" at the header's edge rather than running off it
        text_right = min(band.right(), self.width()) - 4
        text_rect = QRect(text_left, band.top(), max(0, text_right - text_left), band_height)
        elided = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)
        painter.restore()


class PupilHeader(QHeaderView):
    """The grid's row header: each pupil's name, and their totals right-aligned beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._fit_rows()

    def _fit_rows(self) -> None:
        self.setDefaultSectionSize(self.fontMetrics().height() + 8)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_rows()

    def sectionSizeFromContents(self, logical_index: int) -> QSize:  # noqa: N802 - Qt API
        size = super().sectionSizeFromContents(logical_index)
        totals = (
            self.model().headerData(logical_index, Qt.Orientation.Vertical, TOTALS_ROLE)
            if self.model()
            else None
        )
        extra = self.fontMetrics().horizontalAdvance(str(totals)) + 24 if totals else 0
        return QSize(size.width() + extra, size.height())

    def paintSection(self, painter: QPainter, rect: QRect, logical_index: int) -> None:  # noqa: N802
        painter.save()
        super().paintSection(painter, rect, logical_index)
        painter.restore()
        model = self.model()
        totals = model.headerData(logical_index, Qt.Orientation.Vertical, TOTALS_ROLE) if model else None
        if totals:
            painter.save()
            painter.setPen(QColor("#2b3445"))
            painter.drawText(
                rect.adjusted(0, 0, -8, 0),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                str(totals),
            )
            painter.restore()


class MarkingPanel(QWidget):
    """Mark one pupil's answer; Alt+Down / Alt+Up move to the next / previous pupil."""

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
        layout.addWidget(self._build_code_tools())
        self.archived_button = QPushButton("")
        self.archived_button.setAccessibleName("Archived answers of this pupil")
        self.archived_button.setToolTip("Answers to activities a lesson update removed (read-only)")
        self.archived_button.clicked.connect(self.show_archived)
        self.archived_button.hide()
        layout.addWidget(self.archived_button)
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
        self.hints_used = QLabel("")
        self.hints_used.setAccessibleName("Hints the pupil revealed")
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
        form.addRow("", self.hints_used)
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
        self._mark: Mark | None = None
        self._activity: Activity | None = None
        self._archived: tuple[ArchivedCell, ...] = ()
        self.last_saved: Mark | None = None
        self.setEnabled(False)

    def _build_code_tools(self) -> QWidget:
        """For a code answer: the tests' results for the version shown (the server's automatic mark,
        and the visible tests run here on request, by name) and Run, which runs that version here."""
        self.code_tools = box = QWidget()
        box.setAccessibleName("Tests and Run")
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.run_button = QPushButton("▶ Run")
        self.run_button.setAccessibleName("Run the pupil's code")
        self.run_button.setToolTip("Run the version shown on this computer (input goes in the console below)")
        self.run_button.clicked.connect(self.run_code)
        self.check_button = QPushButton("Check visible tests")
        self.check_button.setAccessibleName("Run the visible tests on the version shown")
        self.check_button.clicked.connect(self.check_code)
        row.addWidget(self.run_button)
        row.addWidget(self.check_button)
        row.addStretch(1)
        column.addLayout(row)
        self.test_results = QLabel("")
        self.test_results.setWordWrap(True)
        self.test_results.setTextFormat(Qt.TextFormat.RichText)
        self.test_results.setAccessibleName("Test results")
        self.test_results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_results.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Width from the panel, not from the text: a word-wrapped label in a scroll area is otherwise
        # sized for its narrowest width, many lines tall (see the heading above).
        self.test_results.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        column.addWidget(self.test_results)
        self.console_box = QVBoxLayout()
        column.addLayout(self.console_box)
        self.console = None  # made on the first Run (desktop.ui.console loads the runner)
        self._check_key: tuple | None = None
        self._check_text = ""
        box.hide()
        return box

    def _shown_code(self) -> str | None:
        row = self.revisions.currentRow()
        if 0 <= row < len(self._revisions):
            code = self._revisions[row][1].get("code")
            return code if isinstance(code, str) else None
        return None

    def _shown_version(self) -> int | None:
        row = self.revisions.currentRow()
        return self._revisions[row][0] if 0 <= row < len(self._revisions) else None

    def run_code(self) -> None:
        """Run the version shown, on this computer (as the pupil's Run does), or on the school server
        when the school runs code on the server only."""
        code = self._shown_code()
        if code is None:
            return
        if self.console is None:
            from desktop.ui.console import ProgramConsole  # loaded when first used

            self.console = ProgramConsole()
            self.console.setAccessibleName("Program console")
            self.console.output.setMinimumHeight(90)
            self.console_box.addWidget(self.console)
            self.console.show()
        if self.ctx.code_runs_locally:
            self.console.start(code)
            return
        self.console.output.setPlainText("Running on the school server…")
        client = self.ctx.session.client

        def shown(result) -> None:
            self.console.output.setPlainText(result.stdout + result.stderr)
            self.console.status.setText(f"On the school server: {result.status}. {result.message}".strip())

        def failed(error: Exception) -> None:
            self.console.output.setPlainText("")
            self.console.status.setText(f"The school server could not run it: {error}")

        run_in_background(lambda: client.run_python(code, ""), shown, failed)

    def check_code(self) -> None:
        """Run the activity's visible tests on the version shown, here, and list them by name. Hidden
        tests are only counted: they run on the server, whose automatic mark is shown above."""
        code = self._shown_code()
        activity = self._activity
        if code is None or not isinstance(activity, CodeActivity) or self.target is None:
            return
        key = self._version_key()
        if not self.ctx.code_runs_locally:
            self._show_check(key, "<i>This school runs code on the server only.</i>")
            return
        from desktop.core.local_check import check_locally  # loaded when first used

        self.check_button.setEnabled(False)
        self._show_check(key, "<i>Running the visible tests on this computer…</i>")

        def checked(result) -> None:
            self.check_button.setEnabled(True)
            if self._check_key != key:
                return  # the teacher moved on to another answer
            lines = [
                f"{'✔' if o.passed else '✘'} {html.escape(o.name)}"
                + ("" if o.passed or not o.message else f" — {html.escape(o.message)}")
                for o in result.outcomes
            ]
            heading = (
                f"<b>Visible tests</b> on version {key[3]}, run here: {result.passed} of "
                f"{len(result.outcomes)} pass"
            )
            hidden = (
                f"<br>{result.hidden} hidden test{'s run' if result.hidden != 1 else ' runs'} "
                "on the server only"
                if result.hidden
                else ""
            )
            self._show_check(key, heading + "<br>" + "<br>".join(lines) + hidden)

        def failed(error: Exception) -> None:
            self.check_button.setEnabled(True)
            if self._check_key == key:
                self._show_check(key, f"The tests could not run here: {html.escape(str(error))}")

        run_in_background(lambda: check_locally(code, activity), checked, failed)

    def _version_key(self) -> tuple | None:
        """(pupil, lesson, activity, version) of the answer shown."""
        if self.target is None:
            return None
        pupil, column = self.target
        return (pupil.id, column.lesson_id, column.activity.id, self._shown_version())

    def _show_check(self, key: tuple | None, text: str) -> None:
        self._check_key, self._check_text = key, text
        self._show_test_results()

    def _show_test_results(self) -> None:
        """The server's automatic mark for this answer (which version it checked, tests passed, hidden
        ones included) and, below, what the visible tests run here said about the version shown (kept
        while the versions list is refreshed, dropped when another version is shown)."""
        parts = []
        mark = self._mark
        version = self._shown_version()
        if mark is not None and mark.source == "auto":
            which = f"version {mark.revision}" if mark.revision is not None else "an earlier version"
            differs = (
                f" <i>(you are looking at version {version})</i>"
                if version is not None and mark.revision is not None and version != mark.revision
                else ""
            )
            parts.append(
                f"<b>Server's check</b> of {which}: {mark.score:g} / {mark.max_score:g}{differs}<br>"
                + html.escape(mark.feedback)
            )
        elif self._activity is not None:
            parts.append("<b>Server's check:</b> <i>none yet for this answer.</i>")
        if self._check_key is not None and self._check_key == self._version_key():
            parts.append(self._check_text)
        self.test_results.setText("<br>".join(parts))

    def clear(self) -> None:
        self.target = None
        self._check_key = None
        self._mark = None
        self._activity = None
        self._archived = ()
        self.archived_button.hide()
        self.test_results.clear()
        if self.console is not None:
            self.console.stop()
            self.console.output.clear()
            self.console.status.clear()
        self.code_tools.hide()
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
        lesson = self.ctx.store.lessons.get(column.lesson_id)
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
        self._activity = activity
        is_code = column.activity.kind == "code"
        as_code = is_code or isinstance(activity, Puzzle)
        self.answer_stack.setCurrentWidget(self.code_answer if as_code else self.answer)
        self.out_of.setText(f"out of {column.activity.max_score:g}")
        self.score_error.hide()
        mark = self.ctx.store.marks.get(pupil.id, column.lesson_id, column.activity.id)
        self._mark = mark
        self._check_key = None
        self.check_button.setEnabled(True)
        self.code_tools.setVisible(is_code)
        if self.console is not None:
            self.console.stop()
            self.console.output.clear()
            self.console.status.clear()
        self._show_test_results()
        self.score.setText(f"{mark.score:g}" if mark else "")
        self.feedback.setPlainText(mark.feedback if mark else "")
        self._update_state_label()
        local = self.ctx.store.pull.revisions(pupil.id, column.lesson_id, column.activity.id)
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
        self._show_hints_used()
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

    def _show_hints_used(self) -> None:
        """How many hints the pupil revealed, beside the mark: the most any version recorded (going back
        to an earlier version does not hide a hint once seen)."""
        total = len(self._activity.hints) if self._activity is not None else 0
        if not total:
            self.hints_used.clear()
            return
        used = max(
            (
                state.get("hints_used", 0)
                for _number, state, _time, _current in self._revisions
                if isinstance(state, dict) and type(state.get("hints_used", 0)) is int
            ),
            default=0,
        )
        self.hints_used.setText(f"Hints used: {used} of {total}" if used else f"No hints used (of {total})")

    def _show_revision(self, row: int) -> None:
        if 0 <= row < len(self._revisions):
            state = self._revisions[row][1]
            if isinstance(self._activity, Puzzle):
                text = describe_puzzle_answer(self._activity, state)
            else:
                text = describe_state(state, self._options)
            self.answer.setPlainText(text)
            self.code_answer.setPlainText(text)
            self._show_test_results()

    # -- archived answers ---------------------------------------------------------------------------

    def set_archived(self, archived: tuple[ArchivedCell, ...]) -> None:
        """The pupil's answers to activities a lesson update removed (from the grid's snapshot)."""
        self._archived = archived
        count = len(archived)
        self.archived_button.setText(f"Archived answers ({count})…")
        self.archived_button.setVisible(count > 0)

    def show_archived(self) -> None:
        if self.target is None or not self._archived:
            return
        pupil, _column = self.target
        dialog = ArchivedAnswersDialog(self.ctx, pupil, self._archived, self)
        self.archived_dialog = dialog
        dialog.show()

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
                render_markdown(activity.mark_scheme, remember=False)
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
        elif isinstance(activity, Puzzle):
            scheme, model = puzzle_scheme(activity)
            parts += scheme
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
        mark = self.ctx.store.marks.get(pupil.id, column.lesson_id, column.activity.id)
        if self.ctx.store.marks.pending(pupil.id, column.lesson_id, column.activity.id):
            self.state_label.setText("Mark saved here · waiting to sync")
        elif mark is not None and mark.source == "auto":
            version = f" of version {mark.revision}" if mark.revision is not None else ""
            marker = "the server's sandbox" if column.activity.kind == "code" else "the server's answer key"
            self.state_label.setText(f"Automatic mark{version} ({marker}) · yours replaces it")
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
        feedback = self.feedback.toPlainText()
        cell = (pupil.id, column.lesson_id, column.activity.id)
        saved = CollectionOp(
            self.ctx,
            lambda store: store.outbox.queue_mark(
                pupil.id,
                column.lesson_id,
                column.activity.id,
                score=score,
                max_score=column.activity.max_score,
                feedback=feedback,
                marker=self.ctx.session.username,
            ),
            StoreChanges(marks=True, outbox=True, activities=(cell,)),
            what="Saving the mark",
        ).run()
        if not saved:
            return
        self.last_saved = self.ctx.store.marks.get(pupil.id, column.lesson_id, column.activity.id)
        self._update_state_label()
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
        self.assignments = ClassAssignmentsPanel(ctx)
        self.assignments.scope_changed.connect(self._scope_changed)
        left_layout.addWidget(self.assignments, 2)
        self.grid_model = ProgressGridModel(ctx, self)
        self.grid_model.snapshot_changed.connect(self._snapshot_changed)
        self.grid = QTableView()
        self.grid.setHorizontalHeader(LessonHeader(self.grid))
        self.grid.setVerticalHeader(PupilHeader(self.grid))
        self.grid.setModel(self.grid_model)
        self.grid.setAccessibleName("Progress grid: pupils by activities")
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Fixed widths: sizing columns to their contents would read every cell of every row.
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.grid.horizontalHeader().setDefaultSectionSize(92)
        self.grid.horizontalHeader().setMinimumSectionSize(60)
        self.grid.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        # Fixed heights too (one line, following the text size): sizing rows to their contents would
        # ask every cell of every row for its size hint at each refresh.
        self.grid.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.grid.activated.connect(self._cell_activated)
        self.grid.doubleClicked.connect(self._cell_activated)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        self.progress_title = QLabel("<b>Progress</b>")
        self.progress_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        middle_layout.addWidget(self.progress_title)
        filters = QHBoxLayout()
        lesson_label = QLabel("&Lesson:")
        self.lesson_filter = QComboBox()
        self.lesson_filter.setAccessibleName("Show lesson")
        self.lesson_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.lesson_filter.setMinimumContentsLength(12)
        self.lesson_filter.addItem("All lessons", None)
        self.lesson_filter.currentIndexChanged.connect(self._filters_changed)
        lesson_label.setBuddy(self.lesson_filter)
        self.pupil_filter = QLineEdit()
        self.pupil_filter.setPlaceholderText("Find a pupil…")
        self.pupil_filter.setAccessibleName("Find a pupil by name")
        self.pupil_filter.setClearButtonEnabled(True)
        self.pupil_filter.textChanged.connect(self._filters_changed)
        filters.addWidget(lesson_label)
        filters.addWidget(self.lesson_filter, 2)
        filters.addWidget(self.pupil_filter, 1)
        middle_layout.addLayout(filters)
        middle_layout.addWidget(self.grid)
        self.totals_note = QLabel("")
        self.totals_note.setAccessibleName("About the totals")
        self.totals_note.setWordWrap(True)
        middle_layout.addWidget(self.totals_note)
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
        ctx.events.changed.connect(self._store_changed)
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
        splitter.setSizes([200, 400, 460])
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
        self.grid_model.set_assignment(None)
        self.pupil_filter.clear()
        self.marking.clear()
        self.assignments.clear()

    # -- loading (online, else from the cache) --------------------------------------------------------

    def reload(self) -> None:
        cached = self.ctx.store.cache.get("teacher:classes")
        if cached is not None:
            self._show_classes(msgspec.json.decode(cached[0], type=list[TeacherClass]))
        client = self.ctx.session.client
        run_in_background(client.teacher_classes, self._classes_loaded, self._offline)

    def _classes_loaded(self, classes: list[TeacherClass]) -> None:
        if self.cleared:
            return
        CollectionOp(
            self.ctx,
            lambda store: store.cache.put("teacher:classes", classes),
            StoreChanges(),
            what="Keeping your classes for offline use",
        ).run()
        self._show_classes(classes)

    def _offline(self, error: Exception) -> None:
        if self.cleared:
            return
        if isinstance(error, SyncError):
            note = " <i>(offline: last known progress)</i>"
            if not self.progress_title.text().endswith(note):  # once, however many requests failed
                self.progress_title.setText(self.progress_title.text() + note)

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
        cached = self.ctx.store.cache.get(key)
        self.progress_title.setText(f"<b>Progress: {html.escape(chosen.name)}</b>")
        self.assignments.set_class(chosen.id, chosen.name)
        if cached is not None:
            self._show_progress(msgspec.json.decode(cached[0], type=ClassProgress))
        client = self.ctx.session.client

        def loaded(progress: ClassProgress) -> None:
            if self.cleared:
                return
            CollectionOp(
                self.ctx,
                lambda store: store.cache.put(key, progress),
                StoreChanges(),
                what="Keeping the class's progress for offline use",
            ).run()
            if self.current_class == progress.class_id:
                self._show_progress(progress)

        run_in_background(lambda: client.class_progress(chosen.id), loaded, self._offline)

    def _show_progress(self, progress: ClassProgress | None) -> None:
        """Rebuild the grid's snapshot off the UI thread; the cell the teacher is on stays chosen."""
        index = self.grid.currentIndex()
        where = None
        if index.isValid():
            column = self.grid_model.columns[index.column()]
            where = (self.grid_model.pupil(index.row()).id, column.lesson_id, column.activity.id)

        def shown() -> None:
            if where is None or self.cleared:
                return
            row, col = self.grid_model.row_of(where[0]), self.grid_model.column_of(where[1], where[2])
            if row >= 0 and col >= 0:
                self.grid.setCurrentIndex(self.grid_model.index(row, col))

        self.grid_model.refresh(progress, shown)

    def _snapshot_changed(self) -> None:
        snapshot = self.grid_model.snapshot
        chosen = self.lesson_filter.currentData()
        self.lesson_filter.blockSignals(True)
        self.lesson_filter.clear()
        self.lesson_filter.addItem("All lessons", None)
        for lesson in snapshot.lessons if snapshot is not None else ():
            self.lesson_filter.addItem(lesson.title, lesson.id)
        found = self.lesson_filter.findData(chosen) if chosen is not None else 0
        self.lesson_filter.setCurrentIndex(max(found, 0))
        self.lesson_filter.blockSignals(False)
        self._filters_changed()

    def _scope_changed(self, scope: AssignmentScope | None) -> None:
        """An assignment chosen (or none): the grid shows its activities and who handed in when."""
        self.grid_model.set_assignment(scope)
        self.grid.updateGeometries()  # the pupil column's width follows its new totals
        self.lesson_filter.setEnabled(scope is None)
        name = next((c.name for c in self.class_list if c.id == self.current_class), "")
        title = f"<b>Progress: {html.escape(name)}</b>"
        if scope is not None:
            title += f" · {describe_scope(scope, datetime.now(UTC))}"
        self.progress_title.setText(title)
        self._filters_changed()

    def _filters_changed(self, *_args) -> None:
        self.grid_model.set_filters(self.lesson_filter.currentData(), self.pupil_filter.text())
        model = self.grid_model
        if model.snapshot is None:
            self.totals_note.setText("")
            return
        scope = "this lesson" if model.lesson_filter else "all lessons"
        if model.assignment is not None:
            scope = "this assignment (hand-in by the server's receipt)"
        shown = f"{len(model.rows)} of {len(model.snapshot.pupils)} pupils"
        self.totals_note.setText(
            f"{shown} · beside each name, for {scope}: marks / maximum · answered / activities"
        )

    def refresh(self) -> None:
        """After a sync: recolour (pending marks may have been sent) and fetch progress again."""
        self._show_progress(self.grid_model.progress)
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
        pupil = self.grid_model.pupil(row)
        self.marking.show_cell(pupil, self.grid_model.columns[column])
        snapshot = self.grid_model.snapshot
        self.marking.set_archived(snapshot.archived.get(pupil.id, ()) if snapshot is not None else ())

    def move_pupil(self, step: int) -> None:
        index = self.grid.currentIndex()
        if not index.isValid():
            return
        row = index.row() + step
        if 0 <= row < self.grid_model.rowCount():
            self.open_cell(row, index.column())

    def _store_changed(self, changes: StoreChanges) -> None:
        """A mark saved here (by the marking panel or anything else): its cell and the pupil's totals
        change at once, without rebuilding the grid."""
        if not changes.marks:
            return
        marks = self.ctx.store.marks
        for pupil_id, lesson_id, activity_id in changes.activities:
            mark = None if pupil_id is None else marks.get(pupil_id, lesson_id, activity_id)
            if mark is not None:
                self.grid_model.show_mark(mark, pending=marks.pending(pupil_id, lesson_id, activity_id))


class ArchivedAnswersDialog(QDialog):
    """A pupil's answers to activities a lesson update removed: read-only, with the question as last
    served, the answer's newest version and its mark. Versions pulled to this computer show at once
    (also offline); the others are asked of the server."""

    def __init__(self, ctx: UiContext, pupil: User, archived: tuple[ArchivedCell, ...], parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"Archived answers — {pupil.display_name}")
        self.setAccessibleName(f"Archived answers of {pupil.display_name}")
        self.resize(560, 480)
        outer = QVBoxLayout(self)
        note = QLabel(
            f"<b>Archived answers of {html.escape(pupil.display_name)}</b><br>"
            "Answers to activities a lesson update removed. They are kept, read-only."
        )
        note.setWordWrap(True)
        outer.addWidget(note)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        outer.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        newest: dict[tuple[str, str], tuple[int, dict, object]] = {}
        for revision in ctx.store.pull.pupil_revisions(pupil.id):
            key = (revision.lesson_id, revision.activity_id)
            if key not in newest or revision.current:
                newest[key] = (revision.revision, revision.state, revision.client_time)
        self.entries: dict[tuple[str, str], tuple[QPlainTextEdit, QLabel]] = {}
        client = ctx.session.client
        for item in archived:
            frame = QFrame()
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            frame.setAccessibleName(f"Archived answer: {item.title}")
            box = QVBoxLayout(frame)
            title = QLabel(
                f"<b>{html.escape(item.lesson_title)}: {html.escape(item.title)}</b> <i>(archived)</i>"
            )
            title.setWordWrap(True)
            box.addWidget(title)
            if item.activity is not None:
                prompt = QLabel(render_markdown(item.activity.prompt))
                prompt.setWordWrap(True)
                prompt.setTextFormat(Qt.TextFormat.RichText)
                box.addWidget(prompt)
            answer = CodeEditor() if isinstance(item.activity, CodeActivity) else QPlainTextEdit()
            answer.setReadOnly(True)
            answer.setTabChangesFocus(True)
            answer.setAccessibleName(f"{pupil.display_name}'s archived answer to {item.title}")
            answer.setFixedHeight(answer.fontMetrics().lineSpacing() * 6 + 14)
            box.addWidget(answer)
            status = QLabel("")
            status.setWordWrap(True)
            status.setAccessibleName("Archived answer state")
            box.addWidget(status)
            layout.addWidget(frame)
            key = (item.lesson_id, item.activity_id)
            self.entries[key] = (answer, status)
            options = item.activity.options if isinstance(item.activity, ChoiceActivity) else None
            if key in newest:
                number, state, client_time = newest[key]
                self._show(item, options, number, state, client_time)
            else:
                answer.setPlainText("Asking the school server for this answer…")

                def fetched(result, item=item, options=options) -> None:
                    versions = sorted(result.revisions, key=lambda r: r.revision, reverse=True)
                    chosen = next((r for r in versions if r.current), versions[0] if versions else None)
                    if chosen is None:
                        self.entries[(item.lesson_id, item.activity_id)][0].setPlainText("No answer found.")
                        return
                    self._show(item, options, chosen.revision, chosen.state, chosen.client_time)

                def offline(_error: Exception, key=key) -> None:
                    self.entries[key][0].setPlainText(
                        "Not on this computer, and the school server cannot be reached now."
                    )

                run_in_background(
                    lambda item=item: client.revisions(item.lesson_id, item.activity_id, pupil.id),
                    fetched,
                    offline,
                )
        layout.addStretch(1)

    def _show(self, item: ArchivedCell, options, number: int, state: dict, client_time) -> None:
        answer, status = self.entries[(item.lesson_id, item.activity_id)]
        answer.setPlainText(describe_state(state, options))
        text = f"Version {number} · saved {when(client_time)}"
        if item.mark is not None:
            text += f" · mark {item.mark.score:g} / {item.mark.max_score:g}"
            if item.mark.feedback:
                text += f": {item.mark.feedback}"
        else:
            text += " · not marked"
        status.setText(text)

    def text(self) -> str:
        """Everything the dialog says, as plain text (for tests)."""
        parts = []
        for answer, status in self.entries.values():
            parts += [answer.toPlainText(), status.text()]
        return "\n".join(parts)
