"""A Parsons problem, fill-the-gaps code, predict-the-output and a trace table on the real stack (Qt
offscreen, a server process on PostgreSQL): the pupil answers with the keyboard alone, the answer syncs
through the outbox, the server marks it from its own copy of the lesson and the mark comes back by pull;
the teacher's marking panel shows the pupil's answer as code beside the mark scheme (solution, accepted
answers, real output, the table a real run gave).

Set POST16_DESKTOP_SCREENSHOTS=docs/screenshots to (re)write the screenshots of docs/desktop.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from desktop_helpers import open_marking

from desktop.ui.puzzle_activities import (
    GapsActivityWidget,
    ParsonsActivityWidget,
    PredictActivityWidget,
    TraceActivityWidget,
)
from desktop.ui.qt import QApplication, Qt

pytestmark = [pytest.mark.qt, pytest.mark.postgres]

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")
SOLUTION = [
    ("n = int(input())", 0),
    ("total = 0", 0),
    ("for number in range(1, n + 1):", 0),
    ("if number % 2 == 0:", 1),
    ("total = total + number", 2),
    ("print(total)", 0),
]
DISTRACTOR = "total = total + 1"


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def press(qtbot, widget, key, modifier=Qt.KeyboardModifier.NoModifier, times: int = 1) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        qtbot.keyClick(widget, key, modifier)


def arrange_with_keys(qtbot, parsons: ParsonsActivityWidget) -> None:  # type: ignore[no-untyped-def]
    """Put the solution in order and indent it, then leave the distractor out: arrow keys to choose a
    line, Alt+Up to lift it, Ctrl+Right to indent it, Delete to leave it out."""
    lines = parsons.list
    lines.setFocus()
    for position, (text, level) in enumerate(SOLUTION):
        row = next(r for r in range(position, lines.count()) if lines.item(r).text().strip() == text)
        press(qtbot, lines, Qt.Key.Key_Home)
        press(qtbot, lines, Qt.Key.Key_Down, times=row)
        assert lines.currentRow() == row
        press(qtbot, lines, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier, times=row - position)
        press(qtbot, lines, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier, times=level)
    press(qtbot, lines, Qt.Key.Key_End)
    assert lines.currentItem().text() == DISTRACTOR
    press(qtbot, lines, Qt.Key.Key_Delete)


def test_parsons_arranged_by_keyboard_is_marked_by_the_server_and_shown_to_the_teacher(qtbot, open_app):
    pupil = open_app("pupil")
    pupil.open_lesson_by_id("iteration")
    parsons = pupil.lesson_view.activity_widgets["order-the-loop"]
    assert isinstance(parsons, ParsonsActivityWidget)
    assert parsons.activity.solution is None  # the pupil's copy: lines only
    arrange_with_keys(qtbot, parsons)
    shown = [parsons.list.item(r).text() for r in range(parsons.list.count())]
    assert shown == [" " * 4 * level + text for text, level in SOLUTION] + [f"(left out) {DISTRACTOR}"]
    assert parsons.save_now()
    qtbot.waitUntil(lambda: "Mark: 2 / 2" in parsons.mark_label.text(), timeout=30_000)
    assert "Right" in parsons.mark_label.text()
    screenshot(parsons, "pupil-parsons")
    pupil.show_history(parsons)  # the pupil's own versions read as a program, not as line numbers
    program = "\n".join(" " * 4 * level + text for text, level in SOLUTION)
    qtbot.waitUntil(lambda: pupil.revision_dialog.preview.toPlainText().startswith(program), timeout=10_000)
    pupil.revision_dialog.reject()

    teacher = open_app("teacher", laptop="teacher-laptop")
    marking = open_marking(qtbot, teacher, "iteration", "order-the-loop")
    qtbot.waitUntil(lambda: marking.code_answer.toPlainText().startswith(program), timeout=20_000)
    assert f"#   {DISTRACTOR}" in marking.code_answer.toPlainText()  # shown as left out
    assert "Solution:" in marking.scheme.text()
    assert marking.model_answer.toPlainText().strip() == program
    screenshot(teacher.teacher_view, "teacher-parsons")


def test_gaps_typed_in_are_marked_per_gap_by_the_server_and_shown_to_the_teacher(qtbot, open_app):
    pupil = open_app("pupil")
    pupil.open_lesson_by_id("functions")
    gaps = pupil.lesson_view.activity_widgets["complete-the-function"]
    assert isinstance(gaps, GapsActivityWidget)
    assert gaps.activity.answers is None
    gaps.gaps[0].setFocus()
    qtbot.keyClicks(gaps.gaps[0], "def")
    qtbot.keyClick(gaps.gaps[0], Qt.Key.Key_Tab)
    qtbot.keyClicks(gaps.gaps[1], "numbers")  # wrong: the list, not the number
    qtbot.keyClick(gaps.gaps[1], Qt.Key.Key_Tab)
    qtbot.keyClicks(gaps.gaps[2], "return")
    assert "def largest(numbers):" in gaps.code.toPlainText()
    assert gaps.save_now()
    qtbot.waitUntil(lambda: "Mark: 2 / 3" in gaps.mark_label.text(), timeout=30_000)
    assert "Partly right" in gaps.mark_label.text()
    screenshot(gaps, "pupil-gaps")

    teacher = open_app("teacher", laptop="teacher-laptop")
    marking = open_marking(qtbot, teacher, "functions", "complete-the-function")
    qtbot.waitUntil(lambda: "biggest = numbers\n" in marking.code_answer.toPlainText(), timeout=20_000)
    assert "# gap 2: 'numbers'" in marking.code_answer.toPlainText()
    assert "gap 2: <code>number</code>" in marking.scheme.text()
    screenshot(teacher.teacher_view, "teacher-gaps")


def test_prediction_typed_in_is_marked_against_the_real_output_and_shown_to_the_teacher(qtbot, open_app):
    pupil = open_app("pupil")
    pupil.open_lesson_by_id("selection")
    predict = pupil.lesson_view.activity_widgets["predict-the-branch"]
    assert isinstance(predict, PredictActivityWidget)
    assert predict.activity.expected_output is None  # the pupil's copy: the snippet only
    predict.prediction.setFocus()
    for line in ("B", "odd"):
        qtbot.keyClicks(predict.prediction, line)
        qtbot.keyClick(predict.prediction, Qt.Key.Key_Return)
    qtbot.keyClicks(predict.prediction, "done")
    assert predict.save_now()
    qtbot.waitUntil(lambda: "Mark: 1 / 1" in predict.mark_label.text(), timeout=30_000)
    assert "real output" in predict.mark_label.text()
    screenshot(predict, "pupil-predict")

    teacher = open_app("teacher", laptop="teacher-laptop")
    marking = open_marking(qtbot, teacher, "selection", "predict-the-branch")
    qtbot.waitUntil(lambda: marking.code_answer.toPlainText() == "B\nodd\ndone", timeout=20_000)
    assert "Real output of the snippet:" in marking.scheme.text()
    assert marking.model_answer.toPlainText() == "B\nodd\ndone\n"
    screenshot(teacher.teacher_view, "teacher-predict")


def type_into_focus(qtbot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Keys to whichever widget has the focus, as a person typing (a cell's editor opens on the first)."""
    for character in text:
        qtbot.keyClicks(QApplication.focusWidget(), character)


def test_trace_table_filled_by_keyboard_is_marked_per_cell_and_shown_to_the_teacher(qtbot, open_app):
    table_values = [["3", "1", "1"], ["5", "4", "4"], ["7", "9", "9"], ["9", "16", "61"]]  # one cell wrong
    pupil = open_app("pupil")
    pupil.open_lesson_by_id("iteration")
    trace = pupil.lesson_view.activity_widgets["trace-the-loop"]
    assert isinstance(trace, TraceActivityWidget)
    assert trace.activity.rows is None  # the pupil's copy: the table's shape only
    table = trace.table
    table.setFocus()
    table.setCurrentCell(0, 0)
    for values in table_values:
        for column, value in enumerate(values):
            type_into_focus(qtbot, value)
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
            if column < len(values) - 1:
                qtbot.keyClick(table, Qt.Key.Key_Right)
        qtbot.keyClick(table, Qt.Key.Key_Down)
        qtbot.keyClick(table, Qt.Key.Key_Home)
    assert trace.state() == {"cells": table_values}
    assert trace.save_now()
    qtbot.waitUntil(lambda: "Mark: 2.75 / 3" in trace.mark_label.text(), timeout=30_000)
    assert "Partly right" in trace.mark_label.text()
    screenshot(trace, "pupil-trace")

    teacher = open_app("teacher", laptop="teacher-laptop")
    marking = open_marking(qtbot, teacher, "iteration", "trace-the-loop")
    qtbot.waitUntil(lambda: "61" in marking.code_answer.toPlainText(), timeout=20_000)
    assert "Table from the real run:" in marking.scheme.text()
    assert marking.model_answer.toPlainText().splitlines()[-1].split() == ["9", "|", "16", "|", "16"]
    screenshot(teacher.teacher_view, "teacher-trace")
