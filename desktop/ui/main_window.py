"""The main window: lessons (and classes for teachers); at the bottom one fixed notification line and the
sync status bar. It opens sized to the screen it is on and remembers its geometry and splitters
(`<data>/window.ini`), so it fits a 1024×600 netbook as well as a 1920×1080 desktop."""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import TYPE_CHECKING

import msgspec

from desktop.core.engine import SyncReport, SyncStatus
from desktop.core.errors import DesktopError, StoreError
from desktop.core.session import Session, SessionManager
from desktop.core.settings import Settings, save_user_settings
from desktop.core.store import ArchivedAnswer
from desktop.ui.about import show_about
from desktop.ui.activities import ActivityWidget
from desktop.ui.background import SyncController
from desktop.ui.context import UiContext
from desktop.ui.history import RevisionDialog, SyncLogDialog
from desktop.ui.lesson_view import ARCHIVE_ID, LessonListModel, LessonView
from desktop.ui.login import LoginDialog
from desktop.ui.markdown import forget_rendered, load_rendered, take_rendered
from desktop.ui.navigation import LessonNavigator, SearchHit, SearchIndex, lesson_progress
from desktop.ui.operations import StoreChanges
from desktop.ui.qt import (
    QAction,
    QApplication,
    QKeySequence,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QRect,
    QSettings,
    QSplitter,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
)
from desktop.ui.status import NotificationArea, SyncStatusBar
from desktop.ui.titles import TitleBook
from shared.lessons.model import ChoiceActivity
from shared.lessons.puzzles import GapsActivity, ParsonsActivity, PredictActivity, TraceActivity

log = logging.getLogger(__name__)

#: The store's cache entry holding rendered lesson text, and how many renderings it keeps.
RENDERED_KEY = "rendered-markdown"
RENDERED_KEEP = 3000

if TYPE_CHECKING:  # loaded for teachers only, when their window opens (start-up: docs/performance.md)
    from desktop.ui.assignments import DueWorkView
    from desktop.ui.teacher import TeacherView

__all__ = ["MainWindow", "initial_geometry"]

FONT_STEP = 1.15


def _distinct(*keys: QKeySequence | QKeySequence.StandardKey) -> list[QKeySequence]:
    """Each key sequence once. The platform's ZoomIn is often Ctrl++ itself: listed twice, Qt calls the
    shortcut ambiguous and Ctrl++ does nothing at all."""
    sequences: list[QKeySequence] = []
    for key in keys:
        for sequence in QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey) else [key]:
            if not sequence.isEmpty() and sequence not in sequences:
                sequences.append(sequence)
    return sequences


def initial_geometry(available: QRect) -> QRect:
    """Where a window with no remembered geometry opens: all of a small screen (a 1024×600 netbook, a
    1366×768 laptop), 90 % of a larger one up to 1600×1000; centred, never larger than the screen."""
    if available.width() <= 1366 or available.height() <= 800:
        return QRect(available)
    width = min(int(available.width() * 0.9), 1600)
    height = min(int(available.height() * 0.9), 1000)
    left = available.left() + (available.width() - width) // 2
    top = available.top() + (available.height() - height) // 2
    return QRect(left, top, width, height)


class MainWindow(QMainWindow):
    logged_out = Signal()

    def __init__(
        self,
        manager: SessionManager,
        session: Session,
        settings: Settings,
        *,
        start_sync: bool = True,
        base_point_size: float | None = None,
    ) -> None:
        super().__init__()
        self.manager = manager
        self.session = session
        self.settings = settings
        self.font_scale = settings.font_scale
        app = QApplication.instance()
        remembered = app.property("post16_base_point_size") if app is not None else None
        self._base_point_size = float(base_point_size or remembered or QApplication.font().pointSizeF())
        if app is not None:
            app.setProperty("post16_base_point_size", self._base_point_size)
        role = "Teacher" if session.is_teacher else "Pupil"
        self.setWindowTitle(f"Post16 Lessons — {session.user.display_name} ({role})")
        self.setAccessibleName("Post16 Lessons")

        self.notifications = NotificationArea()
        self.status_bar = SyncStatusBar()
        self.setStatusBar(self.status_bar)
        self.sync = SyncController(session.engine, interval=settings.sync_interval_seconds, parent=self)
        self.ctx = UiContext(session=session, sync=self.sync, notify=self.notifications.notify)

        self.lesson_model = LessonListModel(self)
        self.lesson_list = QListView()
        self.lesson_list.setModel(self.lesson_model)
        self.lesson_list.setAccessibleName("Lessons")
        self.lesson_list.setMinimumWidth(220)
        self.lesson_list.setWordWrap(True)  # long titles wrap rather than vanish under the splitter
        self.lesson_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.lesson_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.lesson_list.activated.connect(lambda index: self.open_lesson(index.row()))
        self.lesson_list.clicked.connect(lambda index: self.open_lesson(index.row()))
        # The arrow keys open what they highlight: a highlighted lesson that is not the one shown misleads.
        self.lesson_list.selectionModel().currentChanged.connect(
            lambda current, _previous: self.open_lesson(current.row()) if current.isValid() else None
        )
        self.lesson_view = LessonView(self.ctx)
        self.lesson_view.history_requested.connect(self.show_history)
        self.ctx.events.changed.connect(self._store_changed)
        self.lesson_view.next_requested.connect(self.next_lesson)
        self.navigator = LessonNavigator(self.lesson_list)
        self.navigator.hit_chosen.connect(self.open_search_hit)
        self.lessons_splitter = lessons_page = QSplitter()
        lessons_page.setObjectName("lessons-splitter")
        lessons_page.setChildrenCollapsible(False)
        lessons_page.addWidget(self.navigator)
        lessons_page.addWidget(self.lesson_view)
        lessons_page.setStretchFactor(1, 4)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Sections")
        self.tabs.tabBar().setAccessibleName("Sections: Lessons, Classes")
        self.tabs.addTab(lessons_page, "&Lessons")
        self.teacher_view: TeacherView | None = None
        if session.is_teacher:
            from desktop.ui.teacher import TeacherView

            self.teacher_view = TeacherView(self.ctx)
            self.tabs.addTab(self.teacher_view, "&Classes")
        self.due_view: DueWorkView | None = None
        if not session.is_teacher:
            from desktop.ui.assignments import DueWorkView

            self.due_view = DueWorkView(self.ctx)
            self.due_view.open_requested.connect(self.open_due_work)
            self.due_view.count_changed.connect(self._due_count_changed)
            self.tabs.addTab(self.due_view, "&Due work")
            self.tabs.currentChanged.connect(self._tab_shown)
            self.tabs.tabBar().setAccessibleName("Sections: Lessons, Due work")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.notifications)
        self.setCentralWidget(central)
        self._build_menus()
        self.set_font_scale(settings.font_scale, remember=False)
        self.notifications.notice_closed.connect(self._notice_closed)
        self._announced_marks: list[str] = []
        self._restore_geometry()

        self.status_bar.sync_requested.connect(self.sync.sync_now)
        self.status_bar.queue_requested.connect(self.show_sync_log)
        self.sync.status_changed.connect(self._status_changed)
        self.sync.progress_changed.connect(self.status_bar.show_progress)
        self.sync.sync_finished.connect(self._sync_finished)
        self._relogin: LoginDialog | None = None
        self._told_outdated = False
        self._announced_offline = False
        self.logged_out_by_user = False
        self._logout_after_sync = False
        self._cleared = False
        self._stopped = False

        # A session opened from this computer with a stored token (the app's start-up) is checked by the
        # sync that starts now: "syncing" until it answers, not "offline".
        first = "idle" if session.verified else "offline"
        if first == "offline" and start_sync and session.client.token is not None:
            first = "syncing"
        self.status_bar.show_status(session.engine.status(first))
        try:
            self.address_warning = manager.check_address(session.server_url).warning
        except DesktopError as error:  # a session resumed before the rule: still say it is unsafe
            self.address_warning = str(error)
        self.status_bar.show_insecure(self.address_warning)
        self._load_rendered()
        self.reload_lessons()
        if not session.verified and session.client.token is None:
            self.notifications.notify(
                "warning",
                "Logged in on this computer only (the school server cannot be reached). Your work is "
                "saved here; you will be asked for your password again to send it when the server is back.",
                key="session",
            )
        if session.store.recovered_from is not None:
            self.notifications.notify(
                "warning",
                "The answers file on this computer was damaged. It was moved to "
                f"{session.store.recovered_from} and your work is being downloaded again from the server.",
            )
        if self.teacher_view is not None:
            self.teacher_view.reload()
        if self.due_view is not None:  # what this computer knows; the server is asked after the first sync
            self.due_view.reload(ask_server=False)
        if start_sync:
            self.sync.start()

    # -- menus and keyboard -----------------------------------------------------------------------

    def _build_menus(self) -> None:
        def action(menu, text: str, keys, slot, name: str) -> QAction:
            act = QAction(text, self)
            if keys:
                act.setShortcuts(keys if isinstance(keys, list) else [QKeySequence(keys)])
            act.triggered.connect(slot)
            act.setToolTip(name)
            menu.addAction(act)
            self.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "Log &out", None, self.log_out, "Log out")
        action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close, "Quit")
        view = self.menuBar().addMenu("&View")
        self.bigger_action = action(
            view,
            "&Bigger text",
            _distinct(QKeySequence("Ctrl++"), QKeySequence("Ctrl+="), QKeySequence.StandardKey.ZoomIn),
            lambda: self.set_font_scale(self.font_scale * FONT_STEP),
            "Bigger text",
        )
        action(
            view,
            "&Smaller text",
            _distinct(QKeySequence("Ctrl+-"), QKeySequence.StandardKey.ZoomOut),
            lambda: self.set_font_scale(self.font_scale / FONT_STEP),
            "Smaller text",
        )
        normal = [QKeySequence("Ctrl+0")]
        action(view, "&Normal text size", normal, lambda: self.set_font_scale(1.0), "Normal text size")
        go_menu = self.menuBar().addMenu("&Go")
        for text, keys, slot, name in (
            ("&Next lesson", "Alt+Right", self.next_lesson, "Next lesson"),
            ("&Previous lesson", "Alt+Left", self.previous_lesson, "Previous lesson"),
            ("&Search lessons…", "Ctrl+F", self.focus_search, "Search lessons and activities"),
        ):
            action(go_menu, text, [QKeySequence(keys)], slot, name)
        sync_menu = self.menuBar().addMenu("&Sync")
        action(sync_menu, "Sync &now", [QKeySequence("F5")], self.sync.sync_now, "Sync now")
        action(sync_menu, "Sync &log…", "Ctrl+L", self.show_sync_log, "Sync log")
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = action(
            help_menu, "&About Post16 Lessons", None, self.show_about, "About Post16 Lessons"
        )

    def show_about(self) -> None:
        show_about(self, self.settings, self.session.server_url, self.session.user.username)

    def set_font_scale(self, scale: float, *, remember: bool = True) -> None:
        self.font_scale = max(0.7, min(3.0, scale))
        font = QApplication.font()
        font.setPointSizeF(self._base_point_size * self.font_scale)
        QApplication.setFont(font)
        for widget in QApplication.allWidgets():
            if widget.property("post16_monospace"):  # editors set their own font: scale it too
                mono = widget.font()
                mono.setPointSizeF(font.pointSizeF())
                widget.setFont(mono)
        # Qt posts the font change to each widget: deliver it now and lay the windows out again, so the
        # menu bar, status bar and page re-wrap at once (not at some later paint, half done).
        QApplication.sendPostedEvents()
        for widget in QApplication.allWidgets():
            if widget.styleSheet():  # a style sheet keeps the font it was polished with: polish again
                widget.setStyleSheet(widget.styleSheet())
        self.status_bar.relayout()
        for window in QApplication.topLevelWidgets():
            for child in window.findChildren(QWidget):
                child.updateGeometry()
            if window.layout() is not None:
                window.layout().invalidate()
                window.layout().activate()
        if remember and self.settings.user_config is not None:
            with contextlib.suppress(OSError):
                save_user_settings(self.settings.user_config, font_scale=round(self.font_scale, 3))

    # -- lessons ----------------------------------------------------------------------------------

    def reload_lessons(self) -> None:
        store = self.session.store
        summaries = store.lessons.summaries()
        available = {s.id for s in summaries if store.lessons.get(s.id) is not None}
        current = self.lesson_view.lesson_id
        self.lesson_model.set_lessons(summaries, available, len(self._removed_lessons_answers()))
        self.update_progress()
        self.navigator.set_index(SearchIndex(store))
        if current is not None:
            row = self.lesson_model.row_of(current)
            if row >= 0:
                self.lesson_list.setCurrentIndex(self.lesson_model.index(row))

    def _store_changed(self, changes: StoreChanges) -> None:
        """A write the UI made (desktop/ui/operations.py) or a sync: the lesson list's counts follow
        answers and marks saved or pulled here, and operations answered."""
        if changes.answers or changes.marks or changes.outbox:
            self.update_progress()
            if self.due_view is not None and not self._cleared:
                self.due_view.show_list()  # "saved here, not yet received" follows the queue

    def update_progress(self) -> None:
        """Answered / marked counts in the lesson list (after a save, a sync, a new lesson list)."""
        if not self._cleared:
            self.lesson_model.set_progress(lesson_progress(self.session.store, self.session.user.id))

    def _lesson_row(self) -> int:
        lesson_id = self.lesson_view.lesson_id
        return -1 if lesson_id is None else self.lesson_model.row_of(lesson_id)

    def _step_lesson(self, step: int) -> None:
        row = self._lesson_row() + step
        if 0 <= row < self.lesson_model.rowCount() and not self.lesson_model.is_archive(row):
            self.open_lesson(row)
            self.lesson_view.setFocus()

    def next_lesson(self) -> None:
        self._step_lesson(1)

    def previous_lesson(self) -> None:
        self._step_lesson(-1)

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.navigator.search.setFocus()
        self.navigator.search.selectAll()

    def open_search_hit(self, hit: SearchHit) -> None:
        self.open_lesson_by_id(hit.lesson_id)
        if hit.activity_id is not None:
            self.lesson_view.show_activity(hit.activity_id)

    def _removed_lessons_answers(self) -> list[ArchivedAnswer]:
        return [a for a in self.session.store.lessons.archived_answers() if a.lesson_removed]

    def open_due_work(self, lesson_id: str, activity_id: str) -> None:
        """From the Due work list: the lesson, at the activity chosen."""
        self.tabs.setCurrentIndex(0)
        self.open_search_hit(SearchHit(lesson_id, activity_id or None, ""))

    def _tab_shown(self, _index: int) -> None:
        if self.due_view is not None and self.tabs.currentWidget() is self.due_view:
            self.due_view.setFocus()  # Alt+D lands in the list: the arrows and Enter work at once
            if not self.due_view.asked:
                self.due_view.reload()

    def _due_count_changed(self, open_work: int) -> None:
        if self.due_view is not None:
            label = f"&Due work ({open_work})" if open_work else "&Due work"
            self.tabs.setTabText(self.tabs.indexOf(self.due_view), label)

    def open_lesson(self, row: int) -> None:
        if not 0 <= row < self.lesson_model.rowCount():
            return
        if self.lesson_model.is_archive(row):
            self.lesson_list.setCurrentIndex(self.lesson_model.index(row))
            if self.lesson_view.lesson_id != ARCHIVE_ID:
                self.lesson_view.show_archive(self._removed_lessons_answers())
            return
        summary = self.lesson_model.lesson_at(row)
        self.lesson_list.setCurrentIndex(self.lesson_model.index(row))
        if self.lesson_view.lesson is not None and self.lesson_view.lesson.id == summary.id:
            return
        self.lesson_view.show_lesson(self.session.store.lessons.get(summary.id))
        following = row + 1
        has_next = following < self.lesson_model.rowCount() and not self.lesson_model.is_archive(following)
        self.lesson_view.set_next_lesson(self.lesson_model.lesson_at(following).title if has_next else None)

    def open_archive(self) -> None:
        self.open_lesson(self.lesson_model.row_of(ARCHIVE_ID))

    def open_lesson_by_id(self, lesson_id: str) -> None:
        self.open_lesson(self.lesson_model.row_of(lesson_id))

    def show_history(self, widget: ActivityWidget) -> None:
        options = widget.activity.options if isinstance(widget.activity, ChoiceActivity) else None
        activity = widget.activity
        describe = None  # the kinds from shared/lessons/puzzles.py are shown as the pupil would read them
        if isinstance(activity, ParsonsActivity | GapsActivity | PredictActivity | TraceActivity):
            from desktop.ui.puzzle_activities import describe_puzzle_answer  # loaded with the first puzzle

            describe = functools.partial(describe_puzzle_answer, activity)
        dialog = RevisionDialog(
            self.ctx,
            widget.lesson.id,
            widget.activity.id,
            pupil_id=self.session.user.id,
            title=widget.activity.title,
            options=options,
            describe=describe,
            parent=self,
        )

        def restore(state: dict) -> None:
            widget.set_state(state)
            widget.changed()
            widget.save_now()
            self.notifications.notify("info", f"Restored an earlier version of “{widget.activity.title}”.")

        dialog.restore_requested.connect(restore)
        dialog.open()
        self.revision_dialog = dialog

    def show_sync_log(self) -> None:
        self.sync_log = SyncLogDialog(self.ctx, self)
        self.sync_log.open()

    # -- geometry ---------------------------------------------------------------------------------

    def _ui_state(self) -> QSettings:
        return QSettings(str(self.settings.data_dir / "window.ini"), QSettings.Format.IniFormat)

    def _splitters(self) -> dict[str, QSplitter]:
        splitters = {"lessons": self.lessons_splitter}
        if self.teacher_view is not None:
            splitters["classes"] = self.teacher_view.splitter
        return splitters

    def _restore_geometry(self) -> None:
        state = self._ui_state()
        geometry = state.value("window/geometry")
        screen = self.screen() or QApplication.primaryScreen()
        available = screen.availableGeometry()
        if not (geometry is not None and self.restoreGeometry(geometry)):
            self.setGeometry(initial_geometry(available))
        elif self.width() > available.width() or self.height() > available.height():
            self.setGeometry(initial_geometry(available))  # remembered from a larger screen
        for name, splitter in self._splitters().items():
            saved = state.value(f"splitters/{name}")
            if saved is not None:
                splitter.restoreState(saved)

    def save_geometry(self) -> None:
        state = self._ui_state()
        state.setValue("window/geometry", self.saveGeometry())
        for name, splitter in self._splitters().items():
            state.setValue(f"splitters/{name}", splitter.saveState())
        state.sync()

    # -- sync events ------------------------------------------------------------------------------

    def _status_changed(self, status: SyncStatus) -> None:
        if status.state == "idle":
            self._announced_offline = False
            self.notifications.clear("connection")
            self.notifications.clear("sync-problem")
        was_offline = self._announced_offline
        self.ctx.status = status
        if self._cleared or self._stopped:
            return
        self.status_bar.show_status(status)
        if self._logout_after_sync:
            self._logout_sync_progress(status)
        if status.state == "offline" and not was_offline:
            self._announced_offline = True
            self.notifications.notify(
                "warning",
                "Offline: your answers are saved on this computer and will be sent when the server is back.",
                key="connection",
            )
        elif status.state == "session_expired" and self._relogin is None:
            self.notifications.notify(
                "warning",
                f"Your session has ended. Log in again to send the {status.pending} change(s) waiting here.",
                key="session",
            )
            self._relogin = LoginDialog(
                self.manager,
                server_url=self.session.server_url,
                username=self.session.username,
                relogin_session=self.session,
                parent=self,
            )
            self._relogin.accepted.connect(self._relogged_in)
            self._relogin.finished.connect(lambda _code: setattr(self, "_relogin", None))
            self._relogin.open()
        elif status.state == "outdated" and not self._told_outdated:
            self._told_outdated = True
            self.notifications.notify("error", status.message)
        elif status.state == "error" and status.message:
            self.notifications.notify("warning", status.message, key="sync-problem")

    def _relogged_in(self) -> None:
        self.notifications.clear("session")
        self.notifications.notify("info", "Logged in again. Sending your waiting work now.", key="session")
        self.sync.resume()

    def _sync_finished(self, report: SyncReport) -> None:
        if self._cleared or self._stopped:
            return
        if report.lessons_updated or report.lessons_removed or report.answers_archived:
            self._lessons_changed(report)
        self.lesson_view.refresh(set(report.answers_replaced))
        pulled = StoreChanges(
            answers=bool(report.revisions or report.answers_replaced),
            outbox=bool(report.pushed),
            marks=bool(report.new_marks),
        )
        if pulled != StoreChanges():
            self.ctx.events.changed.emit(pulled)  # the views follow a sync as they follow a write
        own_marks = [m for m in report.new_marks if m.pupil_id == self.session.user.id]
        titles = TitleBook(self.session.store) if report.rejected or own_marks else None
        archived = (
            {(a.lesson_id, a.activity_id) for a in self.session.store.lessons.archived_answers()}
            if report.rejected
            else set()
        )
        for rejected in report.rejected:
            assert titles is not None
            what = titles.describe(rejected.lesson_id, rejected.activity_id)
            if (rejected.lesson_id, rejected.activity_id) in archived:
                self.notifications.notify(
                    "info",
                    f"Your answer to {what} was not sent because the activity was removed; "
                    "it is kept under Archived answers.",
                )
                continue
            self.notifications.notify(
                "error",
                f"The server refused a change to {what}: {rejected.reason} It is kept in Sync → Sync log.",
            )
        if own_marks:
            assert titles is not None
            self._announce_marks(
                [
                    f"{titles.describe(m.lesson_id, m.activity_id)} {m.score:g}/{m.max_score:g}"
                    for m in own_marks
                ]
            )
        for problem in report.problems:
            self.notifications.notify("warning", problem)
        # New lessons too: a teacher's first grid, built before the lessons arrived, has no columns.
        changed = report.pushed or report.new_marks or report.revisions or report.lessons_updated
        if self.teacher_view is not None and (changed or report.lessons_removed):
            self.teacher_view.refresh()
        if self.due_view is not None and (report.pushed or report.new_marks or not self.due_view.asked):
            self.due_view.reload()  # the server's receipts for what was just sent, and new marks
        elif self.due_view is not None and report.lessons_updated:
            self.due_view.show_list()  # activities by their titles, once the lessons are here

    def _announce_marks(self, marks: list[str]) -> None:
        """One message for every mark not yet read ("3 new marks: …"), not one line per mark."""
        self._announced_marks.extend(marks)
        count = len(self._announced_marks)
        heading = "New mark" if count == 1 else f"{count} new marks"
        self.notifications.notify("info", f"{heading}: " + "; ".join(self._announced_marks), key="marks")

    def _notice_closed(self, key: str) -> None:
        if key == "marks":
            self._announced_marks = []

    def _lessons_changed(self, report: SyncReport) -> None:
        """A lesson update or removal arrived: refresh the list and the open lesson; say where answers
        to removed activities went (nothing is lost)."""
        self.reload_lessons()
        archived_by_lesson: dict[str, int] = {}
        for lesson_id, _activity_id in report.answers_archived:
            archived_by_lesson[lesson_id] = archived_by_lesson.get(lesson_id, 0) + 1
        lesson = self.lesson_view.lesson
        store = self.session.store
        for lesson_id in report.lessons_removed:
            cached = store.lessons.get(lesson_id)
            title = cached.title if cached is not None else lesson_id
            kept = archived_by_lesson.get(lesson_id, 0)
            self.notifications.notify(
                "info",
                f"“{title}” is no longer part of the course."
                + (f" Your {kept} answer(s) to it are kept under Archived answers." if kept else ""),
            )
        if lesson is not None and lesson.id in report.lessons_removed:
            self.lesson_view.show_archive(self._removed_lessons_answers())
            self.reload_lessons()
        elif lesson is not None and lesson.id in report.lessons_updated:
            fresh = store.lessons.get(lesson.id)
            if fresh is not None and fresh.version != lesson.version:
                self.lesson_view.show_lesson(fresh)
                message = f"“{fresh.title}” was updated by your teacher."
                kept = archived_by_lesson.get(lesson.id, 0)
                if kept:
                    message += (
                        f" {kept} of your answers belong to activities that were taken out; they are kept, "
                        "read-only, under Archived answers at the end of the lesson."
                    )
                self.notifications.notify("info", message)
        elif self.lesson_view.lesson_id == ARCHIVE_ID and report.answers_archived:
            self.lesson_view.show_archive(self._removed_lessons_answers())

    # -- leaving ----------------------------------------------------------------------------------

    def _load_rendered(self) -> None:
        """Lesson text rendered at earlier starts, from this user's store (desktop/ui/markdown.py)."""
        try:
            cached = self.session.store.cache.get(RENDERED_KEY)
            if cached is not None:
                load_rendered(msgspec.json.decode(cached[0], type=dict[str, str]))
        except (StoreError, msgspec.DecodeError, msgspec.ValidationError):
            return  # rendered again when shown

    def _keep_rendered(self) -> None:
        """Add what was rendered this time to this user's store, the newest RENDERED_KEEP kept."""
        added = take_rendered()
        if not added:
            return
        try:
            cached = self.session.store.cache.get(RENDERED_KEY)
            kept = msgspec.json.decode(cached[0], type=dict[str, str]) if cached is not None else {}
            kept.update(added)
            self.session.store.cache.put(RENDERED_KEY, dict(list(kept.items())[-RENDERED_KEEP:]))
        except (StoreError, msgspec.DecodeError, msgspec.ValidationError) as error:
            # The window is closing, so nothing on screen can show it: logged, and the next start
            # renders the lessons again.
            log.warning("could not keep the rendered lessons: %s", error)

    def shutdown(self) -> None:
        if not self._cleared:
            self.lesson_view.flush()
            self.save_geometry()
            self._keep_rendered()
        self.sync.stop()
        # Reports the sync thread sent just before it stopped may still be queued, and the server's
        # answers to the views' requests: once shut down the store may be closed, so they are ignored.
        self._stopped = True
        if self.teacher_view is not None:
            self.teacher_view.cleared = self.teacher_view.assignments.cleared = True
        if self.due_view is not None:
            self.due_view.cleared = True

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def log_out(self) -> None:
        """Log out; with changes still queued, say so first and offer to send them."""
        self.lesson_view.flush()
        pending = self.session.store.outbox.pending_count()
        if pending:
            self._ask_before_logout(pending)
        else:
            self.finish_logout()

    def _ask_before_logout(self, pending: int, problem: str = "") -> None:
        noun = "change has" if pending == 1 else "changes have"
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Log out")
        box.setText(f"{pending} {noun} not reached the school server yet.")
        box.setInformativeText(
            (problem + "\n\n" if problem else "")
            + "They stay saved on this computer and are sent the next time you log in here, but your "
            "teacher cannot see them until then."
        )
        self.logout_sync_button = box.addButton("Sync now, then log out", QMessageBox.ButtonRole.AcceptRole)
        self.logout_anyway_button = box.addButton("Log out anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(self.logout_sync_button)
        box.buttonClicked.connect(self._logout_answered)
        self.logout_prompt = box
        box.open()

    def _logout_answered(self, button) -> None:
        if button is self.logout_anyway_button:
            self.finish_logout()
        elif button is self.logout_sync_button:
            self._logout_after_sync = True
            self.notifications.notify("info", "Sending your work, then logging out…", key="logout")
            self.sync.sync_now()

    def _logout_sync_progress(self, status: SyncStatus) -> None:
        """While "sync, then log out" is under way: log out once the queue is empty, ask again if the
        server cannot be reached."""
        if status.state in ("idle",) and self.session.store.outbox.pending_count() == 0:
            self._logout_after_sync = False
            self.finish_logout()
        elif status.state in ("offline", "error", "session_expired", "outdated"):
            self._logout_after_sync = False
            self.notifications.clear("logout")
            pending = self.session.store.outbox.pending_count()
            if pending:
                self._ask_before_logout(pending, f"They could not be sent: {status.message or status.state}.")
            else:
                self.finish_logout()

    def clear_user_views(self) -> None:
        """Take every view of this user's work off the screen at once: lessons, answers, the class
        grid, the marking panel, dialogs and notifications, so the next person sees none of it."""
        self._cleared = True
        dialogs = [self._relogin] + [
            getattr(self, name, None) for name in ("revision_dialog", "sync_log", "logout_prompt")
        ]
        for dialog in dialogs:
            if dialog is not None:
                dialog.hide()
                dialog.setParent(None)
                dialog.deleteLater()
        self._relogin = None
        self.notifications.open_notices.clear()
        self.notifications.history.clear()
        self.notifications.dismiss()
        self.lesson_model.set_lessons([], set(), 0)
        self.lesson_view.show_lesson(None, "Logged out.")
        if self.teacher_view is not None:
            self.teacher_view.clear()
        if self.due_view is not None:
            self.due_view.clear()
        old = self.takeCentralWidget()
        blank = QLabel("Logged out.")
        blank.setAlignment(Qt.AlignmentFlag.AlignCenter)
        blank.setAccessibleName("Logged out")
        self.setCentralWidget(blank)
        if old is not None:
            old.hide()
            old.setParent(None)  # out of the window's tree at once, deleted when Qt next can
            old.deleteLater()
        self.setWindowTitle("Post16 Lessons")
        self.status_bar.connection.setText("<b>● Logged out</b>")
        self.status_bar.pending.setText("")
        self.status_bar.last_sync.setText("")
        self.repaint()

    def finish_logout(self) -> None:
        self.logged_out_by_user = True
        self.lesson_view.flush()
        self.save_geometry()
        self._keep_rendered()
        forget_rendered()  # nothing of this user's is shown from memory to the next one
        self.clear_user_views()
        self.hide()
        self.sync.stop()
        self.manager.logout(self.session)
        self.logged_out.emit()
        self.close()
