"""The lesson list model and the lesson view: Markdown text with the activities in place, and answers to
activities a lesson update removed listed read-only at the end ("Archived answers")."""

from __future__ import annotations

from desktop.core.store import ArchivedAnswer
from desktop.ui.activities import ActivityWidget, make_activity_widget, markdown_label
from desktop.ui.archive import ArchivedSection
from desktop.ui.context import UiContext
from desktop.ui.navigation import LessonProgress
from desktop.ui.qt import (
    QAbstractListModel,
    QLabel,
    QModelIndex,
    QPushButton,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from shared.lessons.model import ActivityBlock, Lesson, LessonSummary, TextBlock

__all__ = ["ARCHIVE_ID", "LessonListModel", "LessonView"]

#: The lesson-list row (and LessonView.lesson_id) of the archive of removed lessons' answers.
ARCHIVE_ID = "archived-answers"


class LessonListModel(QAbstractListModel):
    """Adapts the store's cached lesson summaries (plain Python) to a Qt list. When answers to lessons
    that were removed exist, a last row, "Archived answers", leads to them."""

    LessonIdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._lessons: list[LessonSummary] = []
        self._available: set[str] = set()
        self.archived_count = 0
        self.progress: dict[str, LessonProgress] = {}

    def set_progress(self, progress: dict[str, LessonProgress]) -> None:
        self.progress = progress
        if self._lessons:
            self.dataChanged.emit(self.index(0), self.index(len(self._lessons) - 1))

    def set_lessons(self, lessons: list[LessonSummary], available: set[str], archived_count: int = 0) -> None:
        self.beginResetModel()
        self._lessons = list(lessons)
        self._available = available
        self.archived_count = archived_count
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        if parent.isValid():
            return 0
        return len(self._lessons) + (1 if self.archived_count else 0)

    def is_archive(self, row: int) -> bool:
        return bool(self.archived_count) and row == len(self._lessons)

    def lesson_at(self, row: int) -> LessonSummary:
        return self._lessons[row]

    def row_of(self, lesson_id: str) -> int:
        if lesson_id == ARCHIVE_ID:
            return len(self._lessons) if self.archived_count else -1
        for row, lesson in enumerate(self._lessons):
            if lesson.id == lesson_id:
                return row
        return -1

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if self.is_archive(index.row()):
            return self._archive_data(role)
        lesson = self._lessons[index.row()]
        progress = self.progress.get(lesson.id)
        if role == Qt.ItemDataRole.DisplayRole:
            suffix = "" if lesson.id in self._available else "  (not downloaded yet)"
            line = f"\n{progress.describe()}" if progress is not None and progress.total else ""
            return f"{lesson.title}{suffix}{line}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{lesson.summary}\n{len(lesson.activities)} activities"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            done = f" {progress.describe()}." if progress is not None and progress.total else ""
            return f"Lesson: {lesson.title}. {lesson.summary}{done}"
        if role == self.LessonIdRole:
            return lesson.id
        return None

    def _archive_data(self, role: int):
        count = self.archived_count
        if role == Qt.ItemDataRole.DisplayRole:
            return f"Archived answers ({count})"
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"Archived: {count} answer(s) to lessons that are no longer taught, kept read-only"
        if role == self.LessonIdRole:
            return ARCHIVE_ID
        return None


class LessonView(QScrollArea):
    """Shows one lesson. `activity_widgets` maps activity id to its widget."""

    history_requested = Signal(object)
    answer_saved = Signal(str, str)  # lesson_id, activity_id
    next_requested = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.lesson: Lesson | None = None
        #: The lesson shown, or ARCHIVE_ID for the archive page, or None.
        self.lesson_id: str | None = None
        self.activity_widgets: dict[str, ActivityWidget] = {}
        self.archived_section: ArchivedSection | None = None
        self.setWidgetResizable(True)
        self.setAccessibleName("Lesson")
        self._show_placeholder("Choose a lesson from the list.")

    def _show_placeholder(self, text: str) -> None:
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setAccessibleName("No lesson open")
        self.setWidget(label)

    def flush(self) -> bool:
        """Save every activity with unsaved typing (before switching lesson or quitting)."""
        return all(widget.save_now() for widget in self.activity_widgets.values())

    def show_lesson(self, lesson: Lesson | None, message: str = "") -> None:
        self.flush()
        self.activity_widgets = {}
        self.archived_section = None
        self.lesson = lesson
        self.lesson_id = None if lesson is None else lesson.id
        if lesson is None:
            self._show_placeholder(
                message or "This lesson is not on this computer yet. Connect to download it."
            )
            return
        page = QWidget()
        page.setObjectName(f"lesson-{lesson.id}")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(18, 12, 18, 18)
        layout.setSpacing(12)
        title = QLabel(f"<h1>{lesson.title}</h1>")
        title.setAccessibleName(f"Lesson title: {lesson.title}")
        layout.addWidget(title)
        if lesson.objectives:
            items = "".join(f"<li>{objective}</li>" for objective in lesson.objectives)
            objectives = QLabel(f"<b>By the end you can:</b><ul>{items}</ul>")
            objectives.setWordWrap(True)
            objectives.setAccessibleName("Objectives")
            layout.addWidget(objectives)
        placed: set[str] = set()
        for block in lesson.blocks:
            if isinstance(block, TextBlock):
                layout.addWidget(markdown_label(block.markdown, "Lesson text"))
            elif isinstance(block, ActivityBlock):
                try:
                    activity = lesson.activity(block.activity_id)
                except KeyError:
                    continue
                self._add_activity(layout, lesson, activity)
                placed.add(activity.id)
        for activity in lesson.activities:
            if activity.id not in placed:
                self._add_activity(layout, lesson, activity)
        archived = self.ctx.store.lessons.archived_answers(lesson.id)
        if archived:
            self.archived_section = ArchivedSection(
                self.ctx,
                archived,
                heading="Archived answers",
                explanation=(
                    "These activities were taken out of the lesson when it was updated. Your answers are "
                    "kept here and can still be read, but no longer changed."
                ),
            )
            layout.addWidget(self.archived_section)
        self.next_button = QPushButton("Next lesson ▶")
        self.next_button.setAccessibleName("Next lesson")
        self.next_button.setToolTip("Alt+Right")
        self.next_button.clicked.connect(self.next_requested)
        self.next_button.hide()
        layout.addWidget(self.next_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)
        self.setWidget(page)

    def set_next_lesson(self, title: str | None) -> None:
        """The button at the end of the page: where to go after this lesson (hidden after the last)."""
        button = getattr(self, "next_button", None)
        if button is None or self.lesson is None:
            return
        button.setText(f"Next lesson: {title} ▶" if title else "")
        button.setVisible(bool(title))

    def show_activity(self, activity_id: str) -> None:
        """Scroll to an activity (a search result) and put the keyboard on it."""
        widget = self.activity_widgets.get(activity_id)
        if widget is None:
            return
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.ensureWidgetVisible(widget, 0, 24)

    def show_archive(self, answers: list[ArchivedAnswer]) -> None:
        """The archive page: answers to lessons that are no longer served, grouped by lesson."""
        self.flush()
        self.activity_widgets = {}
        self.lesson = None
        self.lesson_id = ARCHIVE_ID
        page = QWidget()
        page.setObjectName("archive-page")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(18, 12, 18, 18)
        self.archived_section = ArchivedSection(
            self.ctx,
            answers,
            heading="Archived answers",
            explanation=(
                "These lessons are no longer taught. Your answers to them are kept here and can still be "
                "read, but no longer changed."
                if answers
                else "Nothing is archived."
            ),
            group_by_lesson=True,
        )
        layout.addWidget(self.archived_section)
        layout.addStretch(1)
        self.setWidget(page)

    def _add_activity(self, layout: QVBoxLayout, lesson: Lesson, activity) -> None:
        widget = make_activity_widget(self.ctx, lesson, activity)
        widget.history_requested.connect(self.history_requested)
        widget.saved.connect(self.answer_saved)
        widget.refresh()
        self.activity_widgets[activity.id] = widget
        layout.addWidget(widget)

    def refresh(self, replaced: set[tuple[str, str]] | None = None) -> None:
        """After a sync: update sync states and marks; replace answers the server changed."""
        if self.lesson is None:
            return
        for activity_id, widget in self.activity_widgets.items():
            replace = replaced is not None and (self.lesson.id, activity_id) in replaced
            widget.refresh(replace_answer=replace)
