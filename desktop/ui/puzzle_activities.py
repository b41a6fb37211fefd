"""Views of the activity kinds marked from an answer key (shared/lessons/puzzles.py): a Parsons problem,
fill-the-gaps code, predict-the-output and trace tables, for the pupil (answering with the keyboard
alone) and, in the teacher's marking panel, the pupil's answer read as code beside the mark scheme.

None is marked on the laptop: the pupil's copy of the lesson has no solution, no accepted answers and
no recorded output (a local mark would need them, and would give them away), so the mark comes from the server
when the answer reaches it, as for multiple choice.
"""

from __future__ import annotations

import html
from typing import Any

from desktop.ui.activities import ActivityWidget
from desktop.ui.code_editor import CodeEditor
from desktop.ui.context import UiContext
from desktop.ui.qt import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from shared.lessons.model import Lesson
from shared.lessons.puzzles import (
    INDENT_WIDTH,
    MAX_GAP_ANSWER,
    MAX_INDENT,
    MAX_PREDICTION,
    GapsActivity,
    ParsonsActivity,
    PredictActivity,
    Puzzle,
    TraceActivity,
    completed_code,
    gap_numbers,
)

__all__ = [
    "GapsActivityWidget",
    "ParsonsActivityWidget",
    "PredictActivityWidget",
    "TraceActivityWidget",
    "describe_puzzle_answer",
    "puzzle_scheme",
]

WAITING_FOR_MARK = "Saved on this computer · marked automatically when it reaches the server"
LEFT_OUT = "(left out) "
PARSONS_KEYS = (
    "Alt+Up / Alt+Down move the chosen line, Ctrl+Right / Ctrl+Left indent and outdent it, "
    "Delete leaves it out (or puts it back)."
)


class _LineList(QListWidget):
    """The lines being arranged; the keys act on the current line. Tab still leaves the list, so a
    keyboard user is never trapped in it."""

    def __init__(self, owner: ParsonsActivityWidget) -> None:
        super().__init__()
        self.owner = owner

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        key, modifiers = event.key(), event.modifiers()
        alt = modifiers & Qt.KeyboardModifier.AltModifier
        ctrl = modifiers & Qt.KeyboardModifier.ControlModifier
        if alt and key == Qt.Key.Key_Up:
            self.owner.move_line(-1)
        elif alt and key == Qt.Key.Key_Down:
            self.owner.move_line(1)
        elif ctrl and key == Qt.Key.Key_Right:
            self.owner.indent_line(1)
        elif ctrl and key == Qt.Key.Key_Left:
            self.owner.indent_line(-1)
        elif key == Qt.Key.Key_Delete:
            self.owner.toggle_left_out()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class ParsonsActivityWidget(ActivityWidget):
    """Put the shuffled lines in order, each at its indentation; lines that do not belong are left out.
    The answer is ``{"order": [line numbers placed, in order], "indents": [their levels]}``, line
    numbers counting in the lesson's shuffled ``lines``."""

    activity: ParsonsActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: ParsonsActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        #: (line number, indentation level, left out) in the order shown
        self.rows: list[tuple[int, int, bool]] = [(index, 0, False) for index in range(len(activity.lines))]
        help_label = QLabel(PARSONS_KEYS)
        help_label.setWordWrap(True)
        help_label.setAccessibleName("How to arrange the lines")
        self.body.addWidget(help_label)
        self.list = _LineList(self)
        self.list.setAccessibleName(f"Lines of the program for {activity.title}")
        self.list.setAccessibleDescription(PARSONS_KEYS)
        self.list.setFont(CodeEditor().font())
        rows = max(len(activity.lines), 1)
        self.list.setFixedHeight(self.list.fontMetrics().lineSpacing() * rows + 3 * rows + 12)
        self.body.addWidget(self.list)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, name, slot in (
            ("up", "Move up", "Move the line up (Alt+Up)", lambda: self.move_line(-1)),
            ("down", "Move down", "Move the line down (Alt+Down)", lambda: self.move_line(1)),
            ("outdent", "◀ Outdent", "Outdent the line (Ctrl+Left)", lambda: self.indent_line(-1)),
            ("indent", "Indent ▶", "Indent the line (Ctrl+Right)", lambda: self.indent_line(1)),
            (
                "leave",
                "Leave out / put back",
                "Leave out or put back the line (Delete)",
                self.toggle_left_out,
            ),
        ):
            button = QPushButton(text)
            button.setAccessibleName(name)
            button.setToolTip(name)
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[key] = button
        buttons.addStretch(1)
        self.body.addLayout(buttons)
        self._show_rows(0)

    # -- editing ------------------------------------------------------------------------------------

    def move_line(self, step: int) -> None:
        row = self.list.currentRow()
        target = row + step
        if not (0 <= row < len(self.rows) and 0 <= target < len(self.rows)):
            return
        self.rows[row], self.rows[target] = self.rows[target], self.rows[row]
        self._show_rows(target)
        self.changed()

    def indent_line(self, step: int) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.rows):
            return
        index, level, left_out = self.rows[row]
        new_level = min(MAX_INDENT, max(0, level + step))
        if new_level != level:
            self.rows[row] = (index, new_level, left_out)
            self._show_rows(row)
            self.changed()

    def toggle_left_out(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.rows):
            return
        index, level, left_out = self.rows[row]
        self.rows[row] = (index, level, not left_out)
        self._show_rows(row)
        self.changed()

    def _show_rows(self, current: int) -> None:
        self.list.clear()
        for position, (index, level, left_out) in enumerate(self.rows, 1):
            text = self.activity.lines[index]
            shown = f"{LEFT_OUT}{text}" if left_out else " " * (INDENT_WIDTH * level) + text
            item = QListWidgetItem(shown)
            where = "left out" if left_out else f"indent {level}"
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Line {position}, {where}: {text}")
            self.list.addItem(item)
        if self.rows:
            self.list.setCurrentRow(max(0, min(current, len(self.rows) - 1)))

    # -- answer state -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        placed = [(index, level) for index, level, left_out in self.rows if not left_out]
        return {"order": [index for index, _ in placed], "indents": [level for _, level in placed]}

    def set_state(self, state: dict[str, Any]) -> None:
        order, indents = state.get("order"), state.get("indents")
        count = len(self.activity.lines)
        if not isinstance(order, list) or not isinstance(indents, list) or len(order) != len(indents):
            return
        if not all(isinstance(i, int) and 0 <= i < count for i in order) or len(set(order)) != len(order):
            return  # an answer to an older version of the lesson: keep the lines as they are
        rows = [(i, int(level), False) for i, level in zip(order, indents, strict=True)]
        rows += [(i, 0, True) for i in range(count) if i not in order]
        if rows != self.rows:
            self.rows = rows
            self._show_rows(self.list.currentRow())

    def refresh(self, *, replace_answer: bool = True) -> None:
        super().refresh(replace_answer=replace_answer)
        _say_when_marked(self)


class GapsActivityWidget(ActivityWidget):
    """Code with numbered gaps, one line edit per gap; the code above shows the gaps filled in as the
    pupil types. The answer is ``{"gaps": [text of gap 1, gap 2, …]}``."""

    activity: GapsActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: GapsActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        self.code = CodeEditor()
        self.code.setReadOnly(True)
        self.code.setTabChangesFocus(True)
        self.code.setAccessibleName(f"Code with gaps for {activity.title}")
        lines = activity.code.count("\n") + 2
        self.code.setFixedHeight(self.code.fontMetrics().lineSpacing() * lines + 16)
        self.body.addWidget(self.code)
        form = QFormLayout()
        self.gaps: list[QLineEdit] = []
        count = len(gap_numbers(activity.code))
        for number in range(1, count + 1):
            edit = QLineEdit()
            edit.setAccessibleName(f"Gap {number} of {count}")
            edit.setMaxLength(MAX_GAP_ANSWER)
            edit.setFont(self.code.font())
            edit.textChanged.connect(self._gap_changed)
            label = QLabel(f"Gap &{number}:")
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.gaps.append(edit)
        self.body.addLayout(form)
        self._show_code()

    def _gap_changed(self) -> None:
        self._show_code()
        self.changed()

    def _show_code(self) -> None:
        shown = [edit.text() or f"«{number}»" for number, edit in enumerate(self.gaps, 1)]
        self.code.setPlainText(completed_code(self.activity, shown).rstrip("\n"))

    def state(self) -> dict[str, Any]:
        return {"gaps": [edit.text() for edit in self.gaps]}

    def set_state(self, state: dict[str, Any]) -> None:
        filled = state.get("gaps")
        if not isinstance(filled, list) or len(filled) != len(self.gaps):
            return
        for edit, text in zip(self.gaps, filled, strict=True):
            if isinstance(text, str) and text != edit.text():
                edit.setText(text)

    def refresh(self, *, replace_answer: bool = True) -> None:
        super().refresh(replace_answer=replace_answer)
        _say_when_marked(self)


class PredictActivityWidget(ActivityWidget):
    """A snippet to read (and the input it is run with), and a box for the output the pupil predicts.
    The answer is ``{"output": the predicted output}``."""

    activity: PredictActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: PredictActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        self.code = CodeEditor()
        self.code.setReadOnly(True)
        self.code.setTabChangesFocus(True)
        self.code.setAccessibleName(f"Program for {activity.title}")
        self.code.setPlainText(activity.code.rstrip("\n"))
        lines = activity.code.count("\n") + 1
        self.code.setFixedHeight(self.code.fontMetrics().lineSpacing() * lines + 16)
        self.body.addWidget(self.code)
        if activity.stdin:
            given = QLabel(f"Run with this input: <code>{html.escape(activity.stdin.strip())}</code>")
            given.setAccessibleName("Input the program is run with")
            self.body.addWidget(given)
        label = QLabel("Your &prediction of what it prints:")
        self.prediction = QPlainTextEdit()
        self.prediction.setTabChangesFocus(True)
        self.prediction.setAccessibleName(f"Your prediction of the output of {activity.title}")
        self.prediction.setPlaceholderText("Type the output, one line per printed line")
        self.prediction.setFont(self.code.font())
        self.prediction.setFixedHeight(self.code.fontMetrics().lineSpacing() * 6 + 16)
        label.setBuddy(self.prediction)
        self.prediction.textChanged.connect(self.changed)
        self.body.addWidget(label)
        self.body.addWidget(self.prediction)

    def state(self) -> dict[str, Any]:
        return {"output": self.prediction.toPlainText()[:MAX_PREDICTION]}

    def set_state(self, state: dict[str, Any]) -> None:
        output = state.get("output")
        if isinstance(output, str) and output != self.prediction.toPlainText():
            self.prediction.setPlainText(output)

    def refresh(self, *, replace_answer: bool = True) -> None:
        super().refresh(replace_answer=replace_answer)
        _say_when_marked(self)


class TraceActivityWidget(ActivityWidget):
    """The program (read-only) and a table to fill in: the columns the author named, as many rows as the
    real run gives. Arrow keys move between cells, typing or F2 edits one, Enter keeps it; Tab leaves the
    table. The answer is ``{"cells": [[row 1's cells], …]}``."""

    activity: TraceActivity

    def __init__(
        self, ctx: UiContext, lesson: Lesson, activity: TraceActivity, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, lesson, activity, parent)
        self.code = CodeEditor()
        self.code.setReadOnly(True)
        self.code.setTabChangesFocus(True)
        self.code.setAccessibleName(f"Program for {activity.title}")
        self.code.setPlainText(activity.code.rstrip("\n"))
        lines = activity.code.count("\n") + 1
        self.code.setFixedHeight(self.code.fontMetrics().lineSpacing() * lines + 16)
        self.body.addWidget(self.code)
        if activity.stdin:
            given = QLabel(f"Run with this input: <code>{html.escape(activity.stdin.strip())}</code>")
            given.setAccessibleName("Input the program is run with")
            self.body.addWidget(given)
        self.table = QTableWidget(activity.row_count, len(activity.columns))
        self.table.setAccessibleName(f"Trace table for {activity.title}")
        self.table.setAccessibleDescription("Arrow keys move between cells; type to fill one; Tab leaves")
        self.table.setHorizontalHeaderLabels(activity.columns)
        self.table.setTabKeyNavigation(False)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
        )
        for row in range(activity.row_count):
            for column, name in enumerate(activity.columns):
                item = QTableWidgetItem("")
                item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Row {row + 1}, {name}")
                self.table.setItem(row, column, item)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        height = header.sizeHint().height() + self.table.rowHeight(0) * activity.row_count + 8
        self.table.setFixedHeight(height)
        self.table.itemChanged.connect(lambda _item: self.changed())
        self.body.addWidget(self.table)

    def state(self) -> dict[str, Any]:
        return {
            "cells": [
                [self._cell(row, column) for column in range(self.table.columnCount())]
                for row in range(self.table.rowCount())
            ]
        }

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text()[:MAX_GAP_ANSWER] if item is not None else ""

    def set_state(self, state: dict[str, Any]) -> None:
        cells = state.get("cells")
        if not isinstance(cells, list) or len(cells) != self.table.rowCount():
            return
        for row, values in enumerate(cells):
            if not isinstance(values, list) or len(values) != self.table.columnCount():
                continue
            for column, value in enumerate(values):
                item = self.table.item(row, column)
                if item is not None and isinstance(value, str) and value != item.text():
                    item.setText(value)

    def refresh(self, *, replace_answer: bool = True) -> None:
        super().refresh(replace_answer=replace_answer)
        _say_when_marked(self)


def _text_table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(columns, *rows, strict=False)]
    lines = [
        " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
        for row in [columns, *rows]
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _say_when_marked(widget: ActivityWidget) -> None:
    answer = widget.ctx.store.outbox.answer(widget.lesson.id, widget.activity.id)
    if not widget.dirty and answer is not None and answer.pending:
        widget.save_state.setText(WAITING_FOR_MARK)


# --- the teacher's marking panel --------------------------------------------------------------------


def describe_puzzle_answer(activity: Puzzle, state: dict[str, Any]) -> str:
    """A pupil's answer as the teacher reads it: the arranged program (and the lines left out), the
    code with the pupil's text in each gap (and each gap on its own), or the predicted output."""
    if isinstance(activity, PredictActivity):
        output = state.get("output")
        return output if isinstance(output, str) else "(no prediction)"
    if isinstance(activity, TraceActivity):
        cells = state.get("cells")
        if not isinstance(cells, list) or not all(isinstance(row, list) for row in cells):
            return "(no table)"
        return _text_table(activity.columns, [[str(cell) for cell in row] for row in cells])
    if isinstance(activity, ParsonsActivity):
        order, indents = state.get("order"), state.get("indents")
        if not isinstance(order, list) or not isinstance(indents, list):
            return "(no arrangement)"
        lines = activity.lines
        placed = [
            " " * (INDENT_WIDTH * int(level)) + lines[index]
            for index, level in zip(order, indents, strict=False)
            if isinstance(index, int) and 0 <= index < len(lines)
        ]
        left_out = [text for index, text in enumerate(lines) if index not in order]
        text = "\n".join(placed)
        if left_out:
            text += "\n\n# left out:\n" + "\n".join(f"#   {line}" for line in left_out)
        return text
    filled = state.get("gaps")
    if not isinstance(filled, list):
        return "(no gaps filled)"
    texts = [str(text) for text in filled]
    gaps = "\n".join(f"# gap {number}: {text!r}" for number, text in enumerate(texts, 1))
    return completed_code(activity, texts).rstrip("\n") + "\n\n" + gaps


def puzzle_scheme(activity: Puzzle) -> tuple[list[str], str | None]:
    """The mark scheme for the teachers' panel: lines of HTML and the text shown under them (the
    solution, the code with the first accepted answers, or the snippet's real output)."""
    if isinstance(activity, TraceActivity):
        if activity.rows is None:
            return ["<i>No recorded table for this program.</i>"], None
        return [
            "Marked automatically: one share per cell (spaces ignored), against the table a real run of the"
            " program gave (a row each time the <code># row</code> line ran)",
            "Table from the real run:",
        ], _text_table(activity.columns, activity.rows)
    if isinstance(activity, PredictActivity):
        if activity.expected_output is None:
            return ["<i>No recorded output for this snippet.</i>"], None
        given = f" with input <code>{html.escape(activity.stdin.strip())}</code>" if activity.stdin else ""
        return [
            "Marked automatically: full marks when the prediction equals the output the snippet printed"
            f" when it was run{given} (trailing spaces and blank lines at the end ignored), else 0",
            "Real output of the snippet:",
        ], activity.expected_output
    if isinstance(activity, ParsonsActivity):
        if activity.solution is None:
            return ["<i>No solution recorded for this problem.</i>"], None
        parts = ["Marked automatically: full marks for the solution's order and indentation"]
        if activity.partial_marks:
            parts.append("otherwise a share: the longest run of lines in the right order and indentation")
        if activity.alternative_solutions:
            parts.append(f"{len(activity.alternative_solutions)} other order(s) also accepted")
        if activity.distractors:
            lines = ", ".join(f"<code>{html.escape(line)}</code>" for line in activity.distractors)
            parts.append(f"Lines that do not belong: {lines}")
        parts.append("Solution:")
        return parts, activity.solution
    if activity.answers is None:
        return ["<i>No accepted answers recorded for these gaps.</i>"], None
    parts = ["Marked automatically: one share per gap (spaces ignored). Accepted answers:"]
    for number, accepted in enumerate(activity.answers, 1):
        answers = " or ".join(f"<code>{html.escape(answer)}</code>" for answer in accepted)
        parts.append(f"gap {number}: {answers}")
    parts.append("Completed code:")
    return parts, completed_code(activity, [accepted[0] for accepted in activity.answers])
