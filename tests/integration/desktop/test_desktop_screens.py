"""The main screens with the real lessons, at the sizes school laptops have (1366×768, a 1024×600
netbook) and with 150 % text: nothing the pupil or teacher needs is off screen, the page re-wraps.

Set POST16_DESKTOP_SCREENSHOTS=docs/screenshots to (re)write the screenshots of docs/desktop.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.ui.activities import CodeActivityWidget, TextActivityWidget
from desktop.ui.qt import QApplication, QFontInfo, QPoint, QRect

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.slow]

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")
SIZES = [((1366, 768), 1.0, "1366x768"), ((1024, 600), 1.0, "1024x600"), ((1024, 600), 1.5, "1024x600-150")]


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def inside(window, widget) -> bool:  # type: ignore[no-untyped-def]
    top_left = widget.mapTo(window, QPoint(0, 0))
    return widget.isVisible() and window.rect().contains(QRect(top_left, widget.size()))


def synced(window) -> bool:  # type: ignore[no-untyped-def]
    status = window.status_bar.current
    return window.session.store.outbox.pending_count() == 0 and status is not None and status.state == "idle"


@pytest.fixture
def normal_text_afterwards():  # type: ignore[no-untyped-def]
    font = QApplication.font()
    yield
    QApplication.setFont(font)


def test_pupil_and_teacher_screens_fit_small_laptops_and_large_text(
    qtbot, open_app, normal_text_afterwards
) -> None:
    pupil = open_app("pupil", laptop="pupil-laptop")
    pupil.open_lesson(0)
    text = next(w for w in pupil.lesson_view.activity_widgets.values() if isinstance(w, TextActivityWidget))
    text.editor.setPlainText("Because input() always returns a string, so it must be converted first.")
    assert text.save_now()
    code = next(w for w in pupil.lesson_view.activity_widgets.values() if isinstance(w, CodeActivityWidget))
    program = "total = 135\nhours = total // 60\nminutes = total % 60\nprint(hours, minutes)\n"
    code.editor.setPlainText(program)
    assert code.save_now()
    qtbot.waitUntil(lambda: synced(pupil), timeout=20_000)
    lesson_title = pupil.lesson_view.lesson.title
    pupil.notifications.notify("info", f"New mark: “{text.activity.title}” ({lesson_title}) 3/3")

    for size, scale, name in SIZES:
        pupil.resize(*size)
        pupil.set_font_scale(scale)
        qtbot.waitUntil(lambda s=size: (pupil.width(), pupil.height()) == s)
        page = pupil.lesson_view.widget()
        qtbot.waitUntil(lambda p=page: p.width() <= pupil.lesson_view.viewport().width())
        scroll_bar = pupil.lesson_view.verticalScrollBar()
        for widget in (pupil.status_bar.sync_button, pupil.notifications, scroll_bar):
            assert inside(pupil, widget), (name, widget.accessibleName())
        assert not pupil.lesson_view.horizontalScrollBar().isVisible(), name
        pupil.lesson_view.ensureWidgetVisible(text)
        screenshot(pupil, f"pupil-{name}")
    pupil.set_font_scale(1.0)

    teacher = open_app("teacher", laptop="teacher-laptop")
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    view = teacher.teacher_view
    qtbot.waitUntil(lambda: view.grid_model.rowCount() == 1, timeout=20_000)
    column = next(i for i, c in enumerate(view.grid_model.columns) if c.activity.id == text.activity.id)
    view.open_cell(0, column)
    qtbot.waitUntil(lambda: "input() always" in view.marking.answer.toPlainText(), timeout=10_000)
    for size, scale, name in SIZES:
        teacher.resize(*size)
        teacher.set_font_scale(scale)
        qtbot.waitUntil(lambda s=size: (teacher.width(), teacher.height()) == s)
        view.marking_scroll.ensureWidgetVisible(view.marking.save_button)
        for widget in (teacher.status_bar.sync_button, view.marking_scroll, view.marking.save_button):
            assert inside(teacher, widget), (name, widget.accessibleName())
        screenshot(teacher, f"teacher-marking-{name}")
    teacher.set_font_scale(1.0)

    teacher.resize(1366, 768)
    code_column = next(i for i, c in enumerate(view.grid_model.columns) if c.activity.id == code.activity.id)
    qtbot.waitUntil(lambda: view.grid_model.cell_state(0, code_column)[0] == "answered", timeout=20_000)
    view.open_cell(0, code_column)
    qtbot.waitUntil(lambda: "print(hours, minutes)" in view.marking.code_answer.toPlainText(), timeout=10_000)
    assert view.marking.code_answer.isVisible()
    assert QFontInfo(view.marking.code_answer.font()).fixedPitch()
    assert view.marking.model_answer.isVisible()  # the teacher's copy of the lesson has it
    view.marking_scroll.ensureWidgetVisible(view.marking.heading)
    screenshot(teacher, "teacher-marking-code")
