"""Hints on the real stack (Qt offscreen, a server process on PostgreSQL): the pupil reveals them one at
a time from the keyboard, the count is saved with the answer at once, survives going back to an earlier
version, and the teacher sees it beside the mark.

Set POST16_DESKTOP_SCREENSHOTS=docs/screenshots to (re)write the screenshots of docs/desktop.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from desktop_helpers import open_marking

from desktop.ui.qt import Qt

pytestmark = [pytest.mark.qt, pytest.mark.postgres]

LESSON, ACTIVITY = "variables-and-types", "seconds-to-minutes"
SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def test_hints_revealed_by_keyboard_are_saved_and_shown_to_the_teacher(qtbot, open_app):
    pupil = open_app("pupil")
    pupil.open_lesson_by_id(LESSON)
    widget = pupil.lesson_view.activity_widgets[ACTIVITY]
    button = widget.hint_button
    assert button is not None
    assert button.text() == "Show a hint (1 of 3)"
    assert button.accessibleName() == "Show hint 1 of 3 for Minutes and seconds"
    assert widget._hint_labels == []

    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert [label.accessibleName() for label in widget._hint_labels] == ["Hint 1 of 3"]
    assert "input()" in widget._hint_labels[0].text()
    assert button.text() == "Show a hint (2 of 3)"
    answer = widget.ctx.store.outbox.answer(LESSON, ACTIVITY)
    assert answer is not None
    assert answer.state["hints_used"] == 1, "saved at once, before any code was typed"

    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert widget.ctx.store.outbox.answer(LESSON, ACTIVITY).state["hints_used"] == 2
    # Going back to the first version keeps the count: a hint once seen stays seen.
    widget.set_state({"code": "total_seconds = input()\n"})
    widget.changed()
    assert widget.save_now()
    assert widget.ctx.store.outbox.answer(LESSON, ACTIVITY).state["hints_used"] == 2
    qtbot.waitUntil(lambda: "synced" in widget.save_state.text(), timeout=30_000)
    screenshot(widget, "pupil-hints")

    teacher = open_app("teacher", laptop="teacher-laptop")
    marking = open_marking(qtbot, teacher, LESSON, ACTIVITY, marked=False)
    view = teacher.teacher_view
    qtbot.waitUntil(lambda: marking.hints_used.text() == "Hints used: 2 of 3", timeout=20_000)
    screenshot(view, "teacher-hints")
