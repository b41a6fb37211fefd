"""Helpers shared by the desktop integration tests."""

from __future__ import annotations

from typing import Any


def open_marking(qtbot: Any, teacher: Any, lesson: str, activity: str, *, marked: bool = True) -> Any:
    """On the teacher's window: the class grid, then the first pupil's cell of `lesson`/`activity` once
    it holds a mark (`marked`) or an answer; returns the marking panel."""
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    view = teacher.teacher_view
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() > 0 and model.column_of(lesson, activity) >= 0, timeout=30_000)
    column = model.column_of(lesson, activity)
    if marked:
        qtbot.waitUntil(lambda: model.cell_state(0, column)[1] is not None, timeout=30_000)
    else:
        qtbot.waitUntil(lambda: model.cell_state(0, column)[0] != "empty", timeout=30_000)
    view.open_cell(0, column)
    return view.marking
