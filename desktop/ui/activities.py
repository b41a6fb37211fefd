"""One widget per activity kind. Each saves its answer to the local store (durably, then says
"Saved on this computer"), asks the sync thread to send it, and shows the sync state and any mark."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from desktop.core.errors import DesktopError, OfflineError
from desktop.ui.background import run_in_background
from desktop.ui.code_editor import CodeEditor
from desktop.ui.console import ProgramConsole, output_view
from desktop.ui.context import UiContext
from desktop.ui.markdown import render_markdown
from desktop.ui.operations import CollectionOp, StoreChanges
from desktop.ui.palette import HINT_STYLE, MARK_BACKGROUNDS
from desktop.ui.qt import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from shared.lessons.model import Activity, ChoiceActivity, CodeActivity, Lesson, TextActivity
from shared.lessons.puzzles import GapsActivity, ParsonsActivity, PredictActivity, TraceActivity

if TYPE_CHECKING:  # the local checks (and the runner) load at the first Check, not with the lesson
    from desktop.core.local_check import LocalCheck

__all__ = [
    "ActivityWidget",
    "ChoiceActivityWidget",
    "CodeActivityWidget",
    "TextActivityWidget",
    "make_activity_widget",
]

SAVE_DELAY_MS = 600


class MarkdownLabel(QLabel):
    """Rich text that wraps (lesson text, questions, hints), with its heights remembered.

    QLabel lays its whole document out again at every `heightForWidth`, and building a lesson page
    asks 10-15 times for the same two or three widths: for the first lesson's text (10 kB of HTML with
    tables) that was about 75 ms of the start (docs/performance.md). Each answer is kept until anything
    it depends on changes (text, font, screen resolution, margins, wrapping, style sheet)."""

    def __init__(self, html: str) -> None:
        super().__init__(html)
        self._heights: dict[int, int] = {}
        self._heights_for: tuple[object, ...] = ()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        contents = self.contentsRect()
        depends_on = (
            self.text(),
            self.font().key(),
            self.logicalDpiY(),
            self.margin(),
            self.indent(),
            self.wordWrap(),
            int(self.alignment().value),
            self.width() - contents.width(),
            self.height() - contents.height(),
            self.styleSheet(),
        )
        if depends_on != self._heights_for:
            self._heights = {}
            self._heights_for = depends_on
        height = self._heights.get(width)
        if height is None:
            height = self._heights[width] = super().heightForWidth(width)
        return height


def markdown_label(text: str, name: str) -> QLabel:
    label = MarkdownLabel(render_markdown(text))
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setOpenExternalLinks(False)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.setAccessibleName(name)
    return label


class ActivityWidget(QFrame):
    saved = Signal(str, str)  # lesson_id, activity_id
    history_requested = Signal(object)  # the widget

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: Activity, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.lesson = lesson
        self.activity = activity
        self.setObjectName(f"activity-{activity.id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Activity: {activity.title}")
        self._dirty = False
        self._loading = False
        #: The answer as last saved or loaded: a "change" that comes back to it (a Tab and a Backspace,
        #: focus moving through) is no change, and saving it would only add a version nobody wrote.
        self._saved_state: dict[str, Any] | None = None
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_now)

        layout = QVBoxLayout(self)
        title = QLabel(f"<h3>{_escape(activity.title)}</h3>")
        title.setAccessibleName(f"Activity title: {activity.title}")
        layout.addWidget(title)
        layout.addWidget(markdown_label(activity.prompt, f"Question: {activity.title}"))
        #: Hints revealed so far: only ever grows (restoring an older version does not hide one), and is
        #: saved with the answer as `hints_used`, so the teacher sees it beside the mark.
        self._hints_used = 0
        self._hint_labels: list[QLabel] = []
        self.hints_box = QVBoxLayout()
        layout.addLayout(self.hints_box)
        self.body = QVBoxLayout()
        layout.addLayout(self.body)

        footer = QHBoxLayout()
        self.save_state = QLabel("")
        self.save_state.setAccessibleName("Save state")
        self.history_button = QPushButton("History…")
        self.history_button.setAccessibleName(f"Earlier versions of {activity.title}")
        self.history_button.clicked.connect(lambda: self.history_requested.emit(self))
        footer.addWidget(self.save_state, 1)
        self.hint_button: QPushButton | None = None
        if activity.hints:
            self.hint_button = QPushButton("")
            self.hint_button.clicked.connect(self.reveal_hint)
            footer.addWidget(self.hint_button)
            self._show_hints()
        footer.addWidget(self.history_button)
        layout.addLayout(footer)
        self.mark_label = QLabel("")
        self.mark_label.setWordWrap(True)
        self.mark_label.setAccessibleName("Mark and feedback")
        self.mark_label.setStyleSheet(
            f"QLabel {{ background: {MARK_BACKGROUNDS['full']}; padding: 6px; border-radius: 4px; }}"
        )
        self.mark_label.hide()
        layout.addWidget(self.mark_label)

    # -- answer state (per kind) ------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def answer_state(self) -> dict[str, Any]:
        """What is saved: the kind's state, and how many hints the pupil has revealed."""
        state = self.state()
        if self._hints_used:
            state["hints_used"] = self._hints_used
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        used = state.get("hints_used", 0)
        if type(used) is int and self._hints_used < used <= len(self.activity.hints):
            self._hints_used = used
            self._show_hints()
        self.set_state(state)

    # -- hints --------------------------------------------------------------------------------------

    def reveal_hint(self) -> None:
        """Show the next hint and save the count with the answer at once."""
        if self._hints_used >= len(self.activity.hints):
            return
        self._hints_used += 1
        self._show_hints()
        self._dirty = True
        self.save_now()
        if self._hint_labels:
            self._hint_labels[-1].setFocus(Qt.FocusReason.OtherFocusReason)

    def _show_hints(self) -> None:
        total = len(self.activity.hints)
        while len(self._hint_labels) < self._hints_used:
            number = len(self._hint_labels) + 1
            label = markdown_label(
                f"**Hint {number} of {total}.** {self.activity.hints[number - 1]}",
                f"Hint {number} of {total}",
            )
            label.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            label.setStyleSheet(HINT_STYLE)
            self.hints_box.addWidget(label)
            self._hint_labels.append(label)
        if self.hint_button is None:
            return
        if self._hints_used >= total:
            self.hint_button.setText("No more hints")
            self.hint_button.setEnabled(False)
            self.hint_button.setAccessibleName(f"Every hint for {self.activity.title} is shown")
        else:
            self.hint_button.setText(f"Show a hint ({self._hints_used + 1} of {total})")
            self.hint_button.setAccessibleName(
                f"Show hint {self._hints_used + 1} of {total} for {self.activity.title}"
            )

    # -- saving -------------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    def changed(self) -> None:
        if self._loading:
            return
        self._dirty = True
        self.save_state.setText("Editing…")
        self._save_timer.start()

    def save_now(self) -> bool:
        """Write the answer to disk (the UI says "saved" only after the commit). False if it failed."""
        self._save_timer.stop()
        if not self._dirty:
            return True
        if self._saved_state is not None and self.answer_state() == self._saved_state:
            self._dirty = False
            self.refresh(replace_answer=False)
            return True
        state = self.answer_state()
        answer = (None, self.lesson.id, self.activity.id)
        changes = StoreChanges(answers=True, outbox=True, activities=(answer,))
        saved = (
            CollectionOp(
                self.ctx,
                lambda store: store.outbox.save_answer(self.lesson.id, self.activity.id, state),
                changes,
                what="Saving your answer",
            )
            .failure(lambda _error: self.save_state.setText("Not saved!"))
            .run()  # committed when it returns: only then does the widget say "saved" (invariant 1)
        )
        if not saved:
            return False
        self._dirty = False
        self._saved_state = self.answer_state()
        self.save_state.setText("Saved on this computer · waiting to sync")
        self.saved.emit(self.lesson.id, self.activity.id)
        self.ctx.sync_now()
        return True

    def refresh(self, *, replace_answer: bool = True) -> None:
        """Show what the store holds: the answer (unless the pupil is typing), sync state and mark."""
        answer = self.ctx.store.outbox.answer(self.lesson.id, self.activity.id)
        if answer is not None and replace_answer and not self._dirty:
            self._loading = True
            try:
                self.load_state(answer.state)
            finally:
                self._loading = False
            self._saved_state = self.answer_state()
        elif self._saved_state is None and not self._dirty:
            self._saved_state = self.answer_state()  # nothing saved yet: the blank (or starter) answer
        if self._dirty:
            pass
        elif answer is None:
            self.save_state.setText("Not answered yet")
        elif answer.pending:
            self.save_state.setText("Saved on this computer · waiting to sync")
        else:
            version = f" (version {answer.revision})" if answer.revision else ""
            self.save_state.setText(f"Saved and synced{version}")
        mark = self.ctx.store.marks.get(self.ctx.user_id, self.lesson.id, self.activity.id)
        if mark is not None:
            # Green only for full marks: a 0/3 in green reads as "well done".
            if mark.score >= mark.max_score:
                colour = MARK_BACKGROUNDS["full"]
            elif mark.score > 0:
                colour = MARK_BACKGROUNDS["partial"]
            else:
                colour = MARK_BACKGROUNDS["zero"]
            self.mark_label.setStyleSheet(
                f"QLabel {{ background: {colour}; padding: 6px; border-radius: 4px; }}"
            )
            text = f"<b>Mark: {mark.score:g} / {mark.max_score:g}</b>"
            if mark.revision is not None:
                changed = answer is not None and (
                    answer.pending or (answer.revision is not None and answer.revision != mark.revision)
                )
                if changed:
                    text += f" — marked: version {mark.revision}; your answer has changed since"
                else:
                    text += f" (version {mark.revision})"
            if mark.feedback:
                text += f"<br>{_escape(mark.feedback)}"
            self.mark_label.setText(text)
            self.mark_label.show()
        else:
            self.mark_label.hide()


class TextActivityWidget(ActivityWidget):
    activity: TextActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: TextActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        self.editor = QPlainTextEdit()
        self.editor.setTabChangesFocus(True)
        self.editor.setAccessibleName(f"Your answer to {activity.title}")
        self.editor.setPlaceholderText("Type your answer here")
        self.editor.setMinimumHeight(90)
        self.counter = QLabel("")
        self.counter.setAccessibleName("Characters used")
        self.editor.textChanged.connect(self._text_changed)
        self.body.addWidget(self.editor)
        self.body.addWidget(self.counter, 0, Qt.AlignmentFlag.AlignRight)
        self._loading = True
        self._text_changed()
        self._loading = False

    def _text_changed(self) -> None:
        length = len(self.editor.toPlainText())
        self.counter.setText(f"{length} / {self.activity.max_length}")
        self.counter.setStyleSheet("color: #b00020;" if length > self.activity.max_length else "")
        self.changed()

    def state(self) -> dict[str, Any]:
        return {"text": self.editor.toPlainText()[: self.activity.max_length]}

    def set_state(self, state: dict[str, Any]) -> None:
        text = state.get("text")
        if isinstance(text, str) and text != self.editor.toPlainText():
            self.editor.setPlainText(text)


class ChoiceActivityWidget(ActivityWidget):
    activity: ChoiceActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: ChoiceActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        self.group = QButtonGroup(self)
        self.group.setExclusive(not activity.multiple)
        self.buttons: list[QRadioButton | QCheckBox] = []
        for index, option in enumerate(activity.options):
            button: QRadioButton | QCheckBox = (
                QCheckBox(option) if activity.multiple else QRadioButton(option)
            )
            button.setAccessibleName(f"Option {index + 1}: {option}")
            self.group.addButton(button, index)
            self.buttons.append(button)
            self.body.addWidget(button)
        self.group.idToggled.connect(self._toggled)

    def _toggled(self, _index: int, checked: bool) -> None:
        if checked or self.activity.multiple:
            self.changed()
            self.save_now()  # a click is a complete answer: no need to wait

    def state(self) -> dict[str, Any]:
        return {"selected": [i for i, button in enumerate(self.buttons) if button.isChecked()]}

    def set_state(self, state: dict[str, Any]) -> None:
        selected = state.get("selected")
        if not isinstance(selected, list):
            return
        self.group.setExclusive(False)
        for index, button in enumerate(self.buttons):
            button.setChecked(index in selected)
        self.group.setExclusive(not self.activity.multiple)

    def select(self, index: int) -> None:
        self.buttons[index].click()

    def refresh(self, *, replace_answer: bool = True) -> None:
        """A choice is marked by the server from its answer key, which never comes to this laptop (any
        local check would give the answer away): while the answer waits to sync, say when it is marked."""
        super().refresh(replace_answer=replace_answer)
        answer = self.ctx.store.outbox.answer(self.lesson.id, self.activity.id)
        if not self._dirty and answer is not None and answer.pending:
            self.save_state.setText(
                "Saved on this computer · marked automatically when it reaches the server"
            )


class CodeActivityWidget(ActivityWidget):
    activity: CodeActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: CodeActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        self.editor = CodeEditor()
        self.editor.setPlainText(activity.starter)
        self.editor.setMinimumHeight(160)
        self.editor.setAccessibleName(f"Code for {activity.title}")
        self.editor.textChanged.connect(self.changed)
        self.editor.run_requested.connect(self.run_code)
        self.body.addWidget(self.editor)
        self.editor_hint = QLabel("")
        self.editor_hint.setWordWrap(True)
        self.editor_hint.setAccessibleName("How to use the code editor")
        self.editor.editing_changed.connect(self._show_editor_hint)
        self._show_editor_hint(False)
        self.body.addWidget(self.editor_hint)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run (Ctrl+Enter)")
        self.run_button.setAccessibleName("Run the code")
        self.run_button.clicked.connect(self.run_code)
        buttons.addWidget(self.run_button)
        self.check_button = QPushButton("Check")
        self.check_button.setAccessibleName("Check the code against the activity's tests")
        self.check_button.clicked.connect(self.check_code)
        self.check_button.setVisible(bool(activity.tests))
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        self.body.addLayout(buttons)
        # On the laptop (the default): an interactive console. Server only (the school's choice): the
        # input is typed beforehand and the server's sandbox runs the program.
        self.console = ProgramConsole()
        self.console.setMinimumHeight(110)
        self.console.output.setMaximumHeight(150)
        self.console.finished.connect(self._local_run_finished)
        self.body.addWidget(self.console)
        self.stdin_label = QLabel(
            "Input for the program (what <code>input()</code> reads, one value per line):"
        )
        self.body.addWidget(self.stdin_label)
        self.stdin = QPlainTextEdit()
        self.stdin.setTabChangesFocus(True)
        self.stdin.setAccessibleName("Input for the program")
        self.stdin.setPlaceholderText("e.g. 125")
        self.stdin.setMaximumHeight(52)
        self.stdin_label.setBuddy(self.stdin)
        self.body.addWidget(self.stdin)
        self.output = output_view("Output appears here when you run your code.", "Results")
        self.output.setMaximumHeight(160)
        self.body.addWidget(self.output)
        self._local_check: LocalCheck | None = None
        self._awaiting_check: str | None = None  # the provisional result of a queued check
        self._show_where_code_runs()
        self.busy = False

    def _show_editor_hint(self, editing: bool) -> None:
        self.editor_hint.setText(
            "<small>Editing: Tab indents · <b>Esc</b> stops editing, then Tab moves on · "
            "Ctrl+Enter runs</small>"
            if editing
            else "<small><b>Enter</b> (or a click) edits the code · Tab moves on · Ctrl+Enter runs</small>"
        )

    def state(self) -> dict[str, Any]:
        return {"code": self.editor.toPlainText()}

    def set_state(self, state: dict[str, Any]) -> None:
        code = state.get("code")
        if isinstance(code, str) and code != self.editor.toPlainText():
            self.editor.setPlainText(code)

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        self.run_button.setEnabled(not busy)
        self.check_button.setEnabled(not busy)
        if message:
            self.output.setPlainText(message)

    @property
    def runs_locally(self) -> bool:
        return self.ctx.code_runs_locally

    def _show_where_code_runs(self) -> None:
        local = self.runs_locally
        self.console.setVisible(local)
        for widget in (self.stdin_label, self.stdin):
            widget.setVisible(not local)
        self.output.setVisible(not local or bool(self.output.toPlainText()))

    def run_code(self) -> None:
        self.save_now()
        self._show_where_code_runs()
        if self.runs_locally:
            self.console.start(self.editor.toPlainText())
            self.run_button.setText("Run again (Ctrl+Enter)")
            return
        if self.busy:
            return
        code = self.editor.toPlainText()
        stdin = self.stdin.toPlainText()
        if stdin and not stdin.endswith("\n"):
            stdin += "\n"
        self._set_busy(True, "Running…")
        client = self.ctx.session.client
        run_in_background(lambda: client.run_python(code, stdin), self._show_run, self._show_failure)

    def _show_run(self, result) -> None:
        self._set_busy(False)
        parts = []
        if result.stdout:
            parts.append(result.stdout.rstrip("\n"))
        if result.stderr:
            parts.append(result.stderr.rstrip("\n"))
        if result.status != "success":
            explanation = {
                "error": "The program stopped with an error.",
                "timeout": "The program took too long and was stopped.",
                "memory": "The program used too much memory and was stopped.",
                "output_limit": "The program printed too much; the output was cut.",
                "unavailable": "The code runner is not available right now. Try again in a minute.",
            }.get(result.status, result.status)
            parts.append(f"[{explanation}{' ' + result.message if result.message else ''}]")
        parts.append(f"[finished in {result.duration_ms:.0f} ms]")
        self.output.setPlainText("\n".join(parts))

    def refresh(self, *, replace_answer: bool = True) -> None:
        super().refresh(replace_answer=replace_answer)
        provisional = getattr(self, "_awaiting_check", None)
        if provisional is None:
            return
        mark = self.ctx.store.marks.get(self.ctx.user_id, self.lesson.id, self.activity.id)
        if mark is None or mark.revision is None or mark.source != "auto":
            return
        self._awaiting_check = None
        local = self._local_check
        lines = [provisional, "", f"Confirmed by the server — score: {mark.score:g} / {mark.max_score:g}"]
        lines[-1] += f" for version {mark.revision}"
        if (
            local is not None
            and local.outcomes
            and (local.passed == len(local.outcomes)) != (mark.score >= mark.max_score)
        ):
            lines.append(
                "The server's mark differs from this computer's provisional result: hidden tests count too."
            )
        self.output.setPlainText("\n".join(lines))

    def _local_run_finished(self, _result: object) -> None:
        self.run_button.setText("Run (Ctrl+Enter)")

    def check_code(self) -> None:
        self.save_now()
        if self.busy:
            return
        code = self.editor.toPlainText()
        self.output.setVisible(True)
        if self.runs_locally:
            from desktop.core.local_check import check_locally

            self._set_busy(True, "Checking the visible tests on this computer…")
            activity = self.activity
            run_in_background(
                lambda: check_locally(code, activity),
                lambda local: self._show_local_check(local, code),
                self._show_failure,
            )
            return
        self._check_on_server(code)

    def _check_on_server(self, code: str, provisional: str = "") -> None:
        self._set_busy(
            True, (provisional + "\n\n" if provisional else "") + "Asking the server for the mark…"
        )
        client = self.ctx.session.client
        lesson_id, activity_id = self.lesson.id, self.activity.id
        run_in_background(
            lambda: client.check(lesson_id, activity_id, code),
            lambda result: self._show_check(result, provisional),
            lambda error: self._show_failure(error, provisional),
        )

    def _show_local_check(self, local: LocalCheck, code: str) -> None:
        self._local_check = local
        lines = [local.summary()]
        for outcome in local.outcomes:
            detail = f": {outcome.message}" if outcome.message else ""
            lines.append(f"{'✔' if outcome.passed else '✘'} {outcome.name}{detail}")
        provisional = "\n".join(lines)
        if not self.ctx.online:
            self._queue_check(code, provisional)
            return
        self._check_on_server(code, provisional)

    def _queue_check(self, code: str, provisional: str, because: str = "") -> None:
        """Offline (or the server cannot check now): the check goes into the outbox after the save
        holding this code; the server marks that version when it can, and the mark comes back by pull."""
        queued = CollectionOp(
            self.ctx,
            lambda store: store.outbox.queue_check(self.lesson.id, self.activity.id, code),
            StoreChanges(outbox=True),
            what="Queueing the check",
        ).run()
        if not queued:
            self._set_busy(False, provisional + "\n\nThe check could not be queued (see the message above).")
            return
        self._awaiting_check = provisional
        when = f"when it can (just now: {because})" if because else "when this computer is back online"
        self._set_busy(
            False,
            provisional + f"\n\nQueued: the school server will check this version, hidden tests "
            f"included, {when}; the mark that counts appears here then.",
        )
        self.ctx.sync_now()

    def _show_check(self, result, provisional: str = "") -> None:
        if result.run_status == "unavailable":
            # The server could not run the tests (its sandbox is off or down): no mark to confirm.
            why = result.message or "the server cannot run checks just now"
            if provisional:
                self._queue_check(self.editor.toPlainText(), provisional, because=why)
            else:
                self._set_busy(False, f"The school server could not check your code: {why}.")
            return
        self._set_busy(False)
        lines = [provisional, ""] if provisional else []
        lines.append(f"Confirmed by the server — score: {result.score:g} / {result.max_score:g}")
        local = self._local_check if provisional else None
        if local is not None:
            here = {outcome.name: outcome.passed for outcome in local.outcomes}
            differ = [
                test.name for test in result.tests if test.name in here and here[test.name] != test.passed
            ]
            if differ:
                lines.append("The server's result differs from this computer's for: " + ", ".join(differ))
        for test in result.tests:
            lines.append(
                f"{'✔' if test.passed else '✘'} {test.name}{': ' + test.message if test.message else ''}"
            )
        if result.message:
            lines.append(result.message)
        self.output.setPlainText("\n".join(lines))
        self.ctx.sync_now()  # the server saved the automatic mark: fetch it

    def _show_failure(self, error: Exception, provisional: str = "") -> None:
        self._set_busy(False)
        if isinstance(error, OfflineError):
            if provisional:
                self._queue_check(self.editor.toPlainText(), provisional)
                return
            self.output.setPlainText(
                "Running code needs a connection to the school server, and it cannot be reached just now.\n"
                "Your code is saved on this computer."
            )
        elif isinstance(error, DesktopError):
            self.output.setPlainText(str(error))
        else:
            self.output.setPlainText(f"Could not run the code: {error}")


def make_activity_widget(ctx: UiContext, lesson: Lesson, activity: Activity) -> ActivityWidget:
    widget: ActivityWidget
    if isinstance(activity, CodeActivity):
        widget = CodeActivityWidget(ctx, lesson, activity)
    elif isinstance(activity, ChoiceActivity):
        widget = ChoiceActivityWidget(ctx, lesson, activity)
    elif isinstance(activity, ParsonsActivity | GapsActivity | PredictActivity | TraceActivity):
        from desktop.ui import puzzle_activities as puzzles

        if isinstance(activity, ParsonsActivity):
            widget = puzzles.ParsonsActivityWidget(ctx, lesson, activity)
        elif isinstance(activity, GapsActivity):
            widget = puzzles.GapsActivityWidget(ctx, lesson, activity)
        elif isinstance(activity, PredictActivity):
            widget = puzzles.PredictActivityWidget(ctx, lesson, activity)
        else:
            widget = puzzles.TraceActivityWidget(ctx, lesson, activity)
    else:
        widget = TextActivityWidget(ctx, lesson, activity)
    order_focus(widget)
    return widget


def _controls_in_layout_order(layout) -> list[QWidget]:
    controls: list[QWidget] = []
    for index in range(layout.count()):
        item = layout.itemAt(index)
        child = item.widget()
        if child is not None:
            if child.focusPolicy() & Qt.FocusPolicy.TabFocus:
                controls.append(child)
            if child.layout() is not None:
                controls.extend(_controls_in_layout_order(child.layout()))
        elif item.layout() is not None:
            controls.extend(_controls_in_layout_order(item.layout()))
    return controls


def order_focus(widget: QWidget) -> None:
    """Tab follows the page from top to bottom. Qt's default is the order widgets were created in, and
    the footer ("History…") is built before a subclass adds its answer box, so Tab jumped past it."""
    controls = _controls_in_layout_order(widget.layout())
    for before, after in itertools.pairwise(controls):
        QWidget.setTabOrder(before, after)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
