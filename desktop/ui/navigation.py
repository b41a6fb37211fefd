"""A sense of place: how far the user is in each lesson (answered / marked), and a search over the
lessons and their activities that opens the activity found.

`lesson_progress` and `SearchIndex` are plain Python over the store; `LessonNavigator` is the left
column of the Lessons tab: the search box above the lesson list, whose place the results take while a
search is typed (Esc clears it)."""

from __future__ import annotations

import dataclasses

from desktop.core.store import Store
from desktop.ui.qt import (
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from shared.lessons.model import TextBlock

__all__ = ["LessonNavigator", "LessonProgress", "SearchHit", "SearchIndex", "lesson_progress"]


@dataclasses.dataclass(frozen=True, slots=True)
class LessonProgress:
    answered: int
    marked: int
    total: int

    def describe(self) -> str:
        return f"{self.answered}/{self.total} answered · {self.marked} marked"


def lesson_progress(store: Store, user_id: int) -> dict[str, LessonProgress]:
    """Per lesson: activities with an answer saved on this computer, and with a mark."""
    marked = {(m.lesson_id, m.activity_id) for m in store.marks.all(user_id)}
    progress: dict[str, LessonProgress] = {}
    for summary in store.lessons.summaries():
        ids = [a.id for a in summary.activities]
        progress[summary.id] = LessonProgress(
            answered=sum(store.outbox.answer(summary.id, activity_id) is not None for activity_id in ids),
            marked=sum((summary.id, activity_id) in marked for activity_id in ids),
            total=len(ids),
        )
    return progress


@dataclasses.dataclass(frozen=True, slots=True)
class SearchHit:
    lesson_id: str
    activity_id: str | None
    label: str


class SearchIndex:
    """Lesson titles, summaries and text; activity titles and questions. Every word typed must occur
    (case-insensitive), in any order.

    Built at the first search, not when the lesson list is (re)loaded: that reads and decodes every
    cached lesson, which the start does not need before the first lesson is shown (docs/performance.md).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._built: list[tuple[SearchHit, str]] | None = None

    @property
    def _entries(self) -> list[tuple[SearchHit, str]]:
        if self._built is None:
            self._built = self._build(self._store)
        return self._built

    @staticmethod
    def _build(store: Store) -> list[tuple[SearchHit, str]]:
        entries: list[tuple[SearchHit, str]] = []
        for summary in store.lessons.summaries():
            lesson = store.lessons.get(summary.id)
            text = ""
            if lesson is not None:
                text = " ".join(b.markdown for b in lesson.blocks if isinstance(b, TextBlock))
            entries.append(
                (
                    SearchHit(summary.id, None, summary.title),
                    f"{summary.title} {summary.summary} {text}".lower(),
                )
            )
            prompts = {a.id: a.prompt for a in lesson.activities} if lesson is not None else {}
            for activity in summary.activities:
                entries.append(
                    (
                        SearchHit(summary.id, activity.id, f"{summary.title} › {activity.title}"),
                        f"{activity.title} {prompts.get(activity.id, '')}".lower(),
                    )
                )
        return entries

    def search(self, query: str) -> list[SearchHit]:
        words = query.lower().split()
        if not words:
            return []
        return [hit for hit, haystack in self._entries if all(word in haystack for word in words)]


class LessonNavigator(QWidget):
    """The search box and, below it, the lesson list or (while searching) the results."""

    hit_chosen = Signal(object)  # SearchHit

    def __init__(self, lesson_list: QListView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lesson_list = lesson_list
        self.index: SearchIndex | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search lessons and activities (Ctrl+F)")
        self.search.setAccessibleName("Search lessons and activities")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(lesson_list)
        self.stack.addWidget(self.results)
        layout.addWidget(self.search)
        layout.addWidget(self.stack, 1)
        self.search.textChanged.connect(self._search)
        self.search.returnPressed.connect(self._choose_first)
        self.results.itemActivated.connect(self._chosen)
        self.results.itemClicked.connect(self._chosen)
        self.search.installEventFilter(self)
        self._hits: list[SearchHit] = []

    def set_index(self, index: SearchIndex) -> None:
        self.index = index
        self._search(self.search.text())

    def _search(self, text: str) -> None:
        if not text.strip() or self.index is None:
            self.stack.setCurrentWidget(self.lesson_list)
            return
        self._hits = self.index.search(text)
        self.results.clear()
        for hit in self._hits:
            item = QListWidgetItem(hit.label)
            item.setToolTip(hit.label)
            self.results.addItem(item)
        if not self._hits:
            empty = QListWidgetItem(f"Nothing found for “{text.strip()}”.")
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.results.addItem(empty)
        else:
            self.results.setCurrentRow(0)
        self.stack.setCurrentWidget(self.results)

    def _choose_first(self) -> None:
        if self._hits and self.stack.currentWidget() is self.results:
            self.hit_chosen.emit(self._hits[max(0, self.results.currentRow())])

    def _chosen(self, item: QListWidgetItem) -> None:
        row = self.results.row(item)
        if 0 <= row < len(self._hits):
            self.hit_chosen.emit(self._hits[row])

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        """In the search box: Down goes into the results (as in a browser's address bar), Esc clears."""
        if watched is self.search and event.type() == event.Type.KeyPress:
            if event.key() == Qt.Key.Key_Down and self.stack.currentWidget() is self.results:
                self.results.setFocus()
                return True
            if event.key() == Qt.Key.Key_Escape and self.search.text():
                self.search.clear()
                return True
        return super().eventFilter(watched, event)
