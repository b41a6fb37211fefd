"""The program console: a pupil's program running on this laptop, as in IDLE or Thonny.

Output appears as it is printed and the view follows it; while the program runs, the input line is
enabled and Enter sends what was typed (echoed into the output, as a terminal does); Ctrl+D ends the
input; Stop (or Escape in the input line) ends the program and everything it started. The program runs
in desktop.core.local_runner, off the UI thread: its reader threads report through a Qt signal. The
runner (subprocess, tempfile, the limits) is imported at the first Run, not when a lesson is shown.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from desktop.ui.qt import (
    QFont,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QLineEdit,
    QObject,
    QPlainTextEdit,
    QPushButton,
    QShortcut,
    QTextCursor,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from desktop.core.local_runner import LocalLimits, LocalRun, LocalRunResult

__all__ = ["ProgramConsole", "explain_result", "output_view"]

EOF_HINT = (
    "The program asked for more input after the input had ended (Ctrl+D ends the input). "
    "Run it again and type each value, then press Enter."
)


def explain_result(result: LocalRunResult) -> str:
    """One line in plain words about how the program ended."""
    seconds = result.duration_ms / 1000
    if result.status == "success":
        return f"Finished in {seconds:.2f} s."
    if result.status == "stopped":
        return "Stopped."
    if result.status == "timeout":
        return f"Stopped: {result.message or 'the program took too long'}."
    if result.status == "memory":
        return f"Stopped: {result.message or 'the program used too much memory'}."
    if result.status == "output_limit":
        return f"Stopped: {result.message or 'the program printed too much'}."
    last = (result.stderr or result.stdout).rstrip().splitlines()[-1:] or [""]
    if last[0].startswith("EOFError"):
        return EOF_HINT
    if result.message:
        return f"The program stopped: {result.message}."
    return f"The program stopped with an error (exit code {result.exit_code}); the message above says where."


def output_view(placeholder: str, name: str = "Program output") -> QPlainTextEdit:
    """A read-only, monospace view of a program's output (text size follows the app's zoom)."""
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setTabChangesFocus(True)
    view.setAccessibleName(name)
    view.setPlaceholderText(placeholder)
    mono = QFont("DejaVu Sans Mono")
    mono.setStyleHint(QFont.StyleHint.Monospace)
    view.setFont(mono)
    view.setProperty("post16_monospace", True)
    return view


class _Relay(QObject):
    """Carries output and the end of the run from the runner's threads to the UI thread."""

    output = Signal(str, str)
    ended = Signal(object)


class ProgramConsole(QWidget):
    started = Signal()
    finished = Signal(object)  # LocalRunResult

    def __init__(self, limits: LocalLimits | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: None until the first run: then the default `LocalLimits()`.
        self.limits: LocalLimits | None = limits
        self.run: LocalRun | None = None
        self._relay = _Relay(self)
        self._relay.output.connect(self._append_output)
        self._relay.ended.connect(self._ended)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.output = output_view("Output appears here when you run your code (Ctrl+Enter).")
        self.output.setMaximumBlockCount(5000)
        layout.addWidget(self.output)
        row = QHBoxLayout()
        self.prompt = QLabel("Input:")
        row.addWidget(self.prompt)
        self.input = QLineEdit()
        self.input.setAccessibleName("Type the program's input, then press Enter")
        self.input.setPlaceholderText(
            "When the program asks, type here and press Enter (Ctrl+D ends the input)"
        )
        self.input.setEnabled(False)
        self.input.returnPressed.connect(self._send_line)
        self.prompt.setBuddy(self.input)
        row.addWidget(self.input, 1)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop the program")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("How the program ended")
        layout.addWidget(self.status)
        QShortcut(QKeySequence("Ctrl+D"), self.input, activated=self.end_input)
        QShortcut(QKeySequence("Escape"), self.input, activated=self.stop)

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.running

    def start(self, code: str) -> None:
        """Run `code` now; a program still running is stopped first."""
        from desktop.core.local_runner import LocalLimits, LocalRun

        if self.limits is None:
            self.limits = LocalLimits()
        self.stop()
        self.output.clear()
        self.status.setText("Running… type input below when the program asks for it.")
        relay = self._relay
        run = LocalRun(code, limits=self.limits, on_output=relay.output.emit, merge_stderr=True)
        self.run = run
        self.input.setEnabled(True)
        self.stop_button.setEnabled(True)
        self.input.setFocus()
        try:
            run.start()
        except OSError as error:
            self.run = None
            self._set_idle()
            self.status.setText(f"The program could not start: {error}")
            return
        self.started.emit()

        def wait_for_end() -> None:
            result = run.wait()
            relay.ended.emit((run, result))

        threading.Thread(target=wait_for_end, daemon=True, name="console-wait").start()

    def stop(self) -> None:
        if self.run is not None and self.run.running:
            self.run.stop()

    def end_input(self) -> None:
        if self.run is not None and self.run.running:
            self.run.close_input()
            self.input.setEnabled(False)
            self._append_output("stdin", "^D\n")

    def _send_line(self) -> None:
        if self.run is None:
            return
        line = self.input.text()
        self.input.clear()
        self._append_output("stdin", line + "\n")
        self.run.send_input(line + "\n")

    def _append_output(self, _stream: str, text: str) -> None:
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        self.output.setTextCursor(cursor)
        self.output.ensureCursorVisible()

    def _ended(self, payload: tuple[LocalRun, LocalRunResult | None]) -> None:
        run, result = payload
        if run is not self.run or result is None:
            return
        self._set_idle()
        self.status.setText(explain_result(result))
        self.finished.emit(result)

    def _set_idle(self) -> None:
        self.input.setEnabled(False)
        self.stop_button.setEnabled(False)
