"""The keyboard in the main window: Tab passes through the code editor unless the pupil is editing, a
version is saved only for a real change, the lesson list opens what the arrows highlight, text size
shortcuts (Ctrl++ / Ctrl+= / Ctrl+- / Ctrl+0) reach every part; and the code editor's indentation."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from desktop.ui.activities import CodeActivityWidget, TextActivityWidget
from desktop.ui.code_editor import CodeEditor
from desktop.ui.qt import QApplication, QFontInfo, QLabel, QPoint, Qt, QWidget

pytestmark = pytest.mark.qt


def widget_of(window, kind):  # type: ignore[no-untyped-def]
    return next(w for w in window.lesson_view.activity_widgets.values() if isinstance(w, kind))


@pytest.fixture
def lesson_window(qtbot, make_window):  # type: ignore[no-untyped-def]
    window = make_window("pupil")
    window.open_lesson(0)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def test_tab_passes_through_the_code_editor_unless_the_pupil_is_editing(qtbot, lesson_window) -> None:
    code = widget_of(lesson_window, CodeActivityWidget)
    editor = code.editor
    starter = editor.toPlainText()

    editor.setFocus(Qt.FocusReason.TabFocusReason)  # arrived with Tab from the lesson text
    qtbot.waitUntil(editor.hasFocus)
    assert not editor.editing
    assert "Enter" in code.editor_hint.text()
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: not editor.hasFocus())
    assert editor.toPlainText() == starter

    editor.setFocus(Qt.FocusReason.BacktabFocusReason)
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # Enter starts editing and types nothing
    assert editor.editing
    assert "Esc" in code.editor_hint.text()
    assert editor.toPlainText() == starter
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # while editing, Tab indents
    assert editor.toPlainText().count("    ") == 1
    qtbot.keyClick(editor, Qt.Key.Key_Escape)  # Esc stops editing ...
    assert not editor.editing
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # ... and Tab leaves
    qtbot.waitUntil(lambda: not editor.hasFocus())


def test_ctrl_tab_always_leaves_the_code_editor(qtbot, lesson_window) -> None:
    editor = widget_of(lesson_window, CodeActivityWidget).editor
    editor.setFocus(Qt.FocusReason.MouseFocusReason)  # a click: editing
    qtbot.waitUntil(editor.hasFocus)
    assert editor.editing
    qtbot.keyClick(editor, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not editor.hasFocus())


def test_indenting_and_taking_it_back_or_moving_focus_saves_no_version(qtbot, lesson_window) -> None:
    store = lesson_window.session.store
    code = widget_of(lesson_window, CodeActivityWidget)
    text = widget_of(lesson_window, TextActivityWidget)
    editor = code.editor

    editor.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    for _ in range(4):
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    text.editor.setFocus(Qt.FocusReason.TabFocusReason)
    editor.setFocus(Qt.FocusReason.TabFocusReason)
    assert lesson_window.lesson_view.flush()
    assert store.outbox.answer("variables", code.activity.id) is None
    assert store.outbox.pending_count() == 0
    assert code.save_state.text() == "Not answered yet"

    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "print(135 // 60)")
    assert code.save_now()
    assert code.save_now()  # saving again with nothing new adds nothing
    assert store.outbox.pending_count() == 1
    assert "print(135 // 60)" in store.outbox.answer("variables", code.activity.id).state["code"]


def test_arrow_keys_in_the_lesson_list_open_the_highlighted_lesson(qtbot, lesson_window) -> None:
    lesson_window.lesson_list.setFocus()
    qtbot.waitUntil(lesson_window.lesson_list.hasFocus)
    qtbot.keyClick(lesson_window.lesson_list, Qt.Key.Key_Down)
    assert lesson_window.lesson_view.lesson.id == "loops"
    qtbot.keyClick(lesson_window.lesson_list, Qt.Key.Key_Down)
    assert lesson_window.lesson_view.lesson.title == "Functions"
    qtbot.keyClick(lesson_window.lesson_list, Qt.Key.Key_Up)
    assert lesson_window.lesson_view.lesson.id == "loops"


def point_sizes(window) -> dict[str, float]:  # type: ignore[no-untyped-def]
    lesson_text = next(
        label
        for label in window.lesson_view.widget().findChildren(QLabel)
        if label.accessibleName() == "Lesson text"
    )
    return {
        "lesson text": QFontInfo(lesson_text.font()).pointSizeF(),
        "code editor": widget_of(window, CodeActivityWidget).editor.font().pointSizeF(),
        "answer box": widget_of(window, TextActivityWidget).editor.font().pointSizeF(),
        "lesson list": window.lesson_list.font().pointSizeF(),
        "status bar": window.status_bar.pending.font().pointSizeF(),
        "connection (styled)": window.status_bar.connection.font().pointSizeF(),
        "notification (styled)": window.notifications.message.font().pointSizeF(),
        "menu bar": window.menuBar().font().pointSizeF(),
    }


def test_text_size_shortcuts_reach_every_part_and_ctrl_0_restores_them(qtbot, lesson_window) -> None:
    window = lesson_window
    normal = point_sizes(window)
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    shortcuts = {a.text(): [k.toString() for k in a.shortcuts()] for a in view_menu.actions()}
    assert "Ctrl++" in shortcuts["&Bigger text"]
    assert "Ctrl+=" in shortcuts["&Bigger text"]
    assert len(shortcuts["&Bigger text"]) == len(set(shortcuts["&Bigger text"]))  # never ambiguous
    assert shortcuts["&Normal text size"] == ["Ctrl+0"]

    qtbot.keyClick(window.lesson_list, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.lesson_list, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    bigger = point_sizes(window)
    assert window.font_scale == pytest.approx(1.15 * 1.15)
    for part, size in bigger.items():
        assert size > normal[part], part
    bar = window.status_bar
    for widget in (bar.sync_button, bar.pending, bar.last_sync):  # the bar grew with its text
        assert widget.height() >= widget.sizeHint().height(), widget.accessibleName()
        assert bar.rect().contains(widget.geometry()), widget.accessibleName()

    qtbot.keyClick(window.lesson_list, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.font_scale == pytest.approx(1.15)
    qtbot.keyClick(window.lesson_list, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.font_scale == 1.0
    assert point_sizes(window) == normal


def test_larger_text_rewraps_the_page_instead_of_cutting_it_off(qtbot, lesson_window) -> None:
    window = lesson_window
    window.resize(1024, 600)
    window.set_font_scale(1.5)
    page = window.lesson_view.widget()
    qtbot.waitUntil(lambda: page.width() <= window.lesson_view.viewport().width())
    assert not window.lesson_view.horizontalScrollBar().isVisible()
    editor = widget_of(window, CodeActivityWidget).editor
    right_edge = editor.mapTo(page, editor.rect().topRight()).x()
    assert right_edge <= window.lesson_view.viewport().width()


def test_high_dpi_policy_is_set_before_the_application_is_created() -> None:
    program = textwrap.dedent(
        """
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from desktop.core.settings import Settings
        from desktop.ui.app import _application
        from desktop.ui.qt import QGuiApplication, Qt
        from pathlib import Path
        _application(Settings(data_dir=Path("unused")))
        policy = QGuiApplication.highDpiScaleFactorRoundingPolicy()
        assert policy == Qt.HighDpiScaleFactorRoundingPolicy.PassThrough, policy
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert "must be called before" not in result.stderr


def test_code_editor_keeps_indentation_on_enter_and_indents_after_a_colon(qtbot) -> None:
    from desktop.ui.code_editor import CodeEditor

    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClicks(editor, "for n in range(3):  # count")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "if n:")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "print(n)")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "n += 1")
    assert editor.toPlainText() == "for n in range(3):  # count\n    if n:\n        print(n)\n        n += 1"

    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Backtab)  # Shift+Tab dedents the selected lines
    assert editor.toPlainText() == "for n in range(3):  # count\nif n:\n    print(n)\n    n += 1"


def test_backspace_in_the_indentation_removes_one_level(qtbot) -> None:
    from desktop.ui.code_editor import CodeEditor

    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.show()
    editor.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClicks(editor, "if True:")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "if True:\n        "
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    assert editor.toPlainText() == "if True:\n    "
    qtbot.keyClicks(editor, "x = 1")
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)  # inside code: one character, as usual
    assert editor.toPlainText() == "if True:\n    x = "


def test_code_editor_is_monospace_unwrapped_with_line_numbers(qtbot) -> None:
    from desktop.ui.code_editor import CodeEditor

    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor.setPlainText("x = 1\n" * 12)
    editor.show()
    assert QFontInfo(editor.font()).fixedPitch()
    assert editor.lineWrapMode() == editor.LineWrapMode.NoWrap
    assert editor.viewportMargins().left() >= editor.fontMetrics().horizontalAdvance("99")
    assert isinstance(editor._numbers, QWidget)
    assert QApplication.instance() is not None


def test_every_control_the_keyboard_reaches_has_an_accessible_name(qtbot, lesson_window) -> None:
    nameless = [
        f"{type(widget).__name__} {widget.objectName()!r}"
        for widget in lesson_window.findChildren(QWidget)
        if widget.isVisible()
        and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
        and not widget.accessibleName()
    ]
    assert nameless == []


def test_tab_goes_search_list_then_the_page_top_to_bottom(qtbot, lesson_window) -> None:
    window = lesson_window
    page = window.lesson_view.widget()
    window.navigator.search.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(window.navigator.search.hasFocus)
    visited = []
    for _ in range(30):
        focused = QApplication.focusWidget()
        visited.append(focused)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    names = [w.accessibleName() for w in visited]
    assert names[:2] == ["Search lessons and activities", "Lessons"]
    on_page = [w for w in visited if page.isAncestorOf(w)]
    assert len(on_page) >= 6
    first_pass = on_page[: on_page.index(on_page[0], 1)] if on_page.count(on_page[0]) > 1 else on_page
    heights = [w.mapTo(page, QPoint(0, 0)).y() for w in first_pass]
    assert heights == sorted(heights), [w.accessibleName() for w in first_pass]
    assert not any(isinstance(w, CodeEditor) and w.editing for w in visited)  # passed through, not into
