"""What a screen reader and a pupil with low vision get from the desktop app, checked on the real
windows (Qt offscreen, a real server):

- every control a person can use (buttons, check and radio buttons, text boxes, combo boxes, lists,
  tables, number boxes) has a name: the one Qt's accessibility layer gives a screen reader (its own
  accessible name, its text, or the label it is the buddy of);
- every text colour the app sets itself meets WCAG 2.1 AA against what it is drawn on (4.5:1): the
  pairs in desktop/ui/palette.py, each `color:` / `background:` in the widgets' style sheets, and the
  teacher's grid colours under the default text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop.ui import palette
from desktop.ui.activities import TextActivityWidget
from desktop.ui.qt import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QAccessible,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPalette,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from desktop.ui.teacher import COLOURS as GRID_COLOURS

pytestmark = [pytest.mark.qt, pytest.mark.postgres]

UI_SOURCES = Path(__file__).resolve().parents[3] / "desktop" / "ui"
INTERACTIVE = (
    QAbstractButton,
    QLineEdit,
    QTextEdit,
    QPlainTextEdit,
    QComboBox,
    QAbstractItemView,
    QAbstractSpinBox,
)
AA_TEXT = 4.5


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour written #rrggbb or #rgb."""
    digits = colour.lstrip("#")
    digits = "".join(d * 2 for d in digits) if len(digits) == 3 else digits
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(text: str, background: str) -> float:
    lighter, darker = sorted((relative_luminance(text), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_ratio_matches_wcag_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near miss
    assert contrast("#595959", "#ffffff") == pytest.approx(7.0, abs=0.01)
    assert contrast("#fff", "#000") == pytest.approx(21.0)


def unnamed_controls(window: QWidget) -> list[str]:
    """Visible interactive widgets that a screen reader would announce without a name."""
    missing = []
    named = 0
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible():
            continue
        if (
            widget.objectName().startswith("qt_")
            or isinstance(widget.parent(), QAbstractSpinBox | QComboBox)
            or (isinstance(widget, QHeaderView) and isinstance(widget.parent(), QAbstractItemView))
        ):
            continue  # parts of a composite control: a spin box's editor, a table's headers and corner
        accessible = QAccessible.queryAccessibleInterface(widget)
        name = accessible.text(QAccessible.Text.Name).strip() if accessible is not None else ""
        named += bool(name)
        if not name:
            parent = widget.parentWidget()
            missing.append(
                f"{type(widget).__name__} objectName={widget.objectName()!r} in "
                f"{type(parent).__name__ if parent else None} tooltip={widget.toolTip()!r}"
            )
    assert named >= 5, f"only {named} named controls seen: the walk lost track"
    return missing


def answer_and_sync(qtbot, pupil) -> TextActivityWidget:  # type: ignore[no-untyped-def]
    pupil.open_lesson(0)
    text = next(w for w in pupil.lesson_view.activity_widgets.values() if isinstance(w, TextActivityWidget))
    text.editor.setPlainText("Because input() always returns a string.")
    assert text.save_now()
    qtbot.waitUntil(lambda: pupil.session.store.outbox.pending_count() == 0, timeout=20_000)
    return text


def test_every_control_of_the_pupil_and_teacher_views_has_a_name(qtbot, open_app) -> None:
    pupil = open_app("pupil", laptop="pupil-laptop")
    text = answer_and_sync(qtbot, pupil)
    assert unnamed_controls(pupil) == [], "pupil view"
    for lesson_id in ("selection", "iteration", "functions"):  # predict; Parsons and trace; gaps
        pupil.open_lesson_by_id(lesson_id)
        assert unnamed_controls(pupil) == [], f"pupil view of {lesson_id}"

    teacher = open_app("teacher", laptop="teacher-laptop")
    teacher.open_lesson(0)
    assert unnamed_controls(teacher) == [], "teacher's lessons tab"
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    view = teacher.teacher_view
    qtbot.waitUntil(lambda: view.grid_model.rowCount() == 1, timeout=20_000)
    column = next(i for i, c in enumerate(view.grid_model.columns) if c.activity.id == text.activity.id)
    view.open_cell(0, column)
    qtbot.waitUntil(lambda: "input() always" in view.marking.answer.toPlainText(), timeout=10_000)
    assert unnamed_controls(teacher) == [], "teacher's class progress and marking"


def stylesheet_pairs() -> list[tuple[str, str, str]]:
    """(where, text, background) for every colour a widget's style sheet in desktop/ui sets: a text
    colour on the style sheet's own background or the window's, a background under its own text
    colour or Qt's default text."""
    app = QApplication.instance()
    assert app is not None
    window = app.palette().color(QPalette.ColorRole.Window).name()
    text = app.palette().color(QPalette.ColorRole.WindowText).name()
    declaration = re.compile(r"(?<![-\w])(color|background(?:-color)?)\s*:\s*(#(?:[0-9a-fA-F]{3}){1,2})\b")
    pairs = []
    for source in sorted(UI_SOURCES.glob("*.py")):
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            found = {prop.split("-")[0]: value for prop, value in declaration.findall(line)}
            if "color" in found or "background" in found:
                where = f"{source.name}:{number}"
                pairs.append((where, found.get("color", text), found.get("background", window)))
    return pairs


def test_the_apps_text_colours_meet_wcag_aa_contrast(qapp) -> None:
    default_text = qapp.palette().color(QPalette.ColorRole.Text).name()
    pairs = [
        *palette.TEXT_PAIRS,
        *stylesheet_pairs(),
        *((f"grid cell: {state}", default_text, colour) for state, colour in GRID_COLOURS.items()),
    ]
    assert len(pairs) > len(palette.TEXT_PAIRS), "no style sheet colours found: the scan lost track"
    too_faint = [
        f"{where}: {text} on {background} is {contrast(text, background):.2f}:1"
        for where, text, background in pairs
        if contrast(text, background) < AA_TEXT
    ]
    assert too_faint == [], f"below WCAG AA {AA_TEXT}:1"
