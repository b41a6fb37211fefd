"""Start-up (issue 16): what a pupil's first lesson does not need stays unloaded until it is used:
Pygments until code not highlighted at an earlier start is shown, the local runner and checks until
the first Run or Check, and the lesson loader, checks grammar and snippet runner of `shared.lessons`
always on the desktop. The lesson text's heights, remembered to lay the page out once, are the ones Qt
computes. The numbers are in bench/desktop_bench.py and docs/performance.md; these tests check
outcomes, never the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]

#: Loaded only when something on screen needs them (see each module's docstring).
DEFERRED = (
    "pygments",  # desktop/ui/code_editor.py: the first code editor
    "markdown_it",  # desktop/ui/markdown.py: lesson text not rendered at an earlier start
    "httpx",  # desktop/core/client.py: the first request, on the sync thread
    "sqlite_utils",  # desktop/core/store: a migration
    "desktop.ui.teacher",  # teachers only
    "desktop.ui.puzzle_activities",  # desktop/ui/activities.py: the first Parsons, gaps, predict or trace
    "desktop.core.local_check",  # desktop/ui/activities.py: the first Check
    "desktop.core.local_runner",  # desktop/ui/console.py: the first Run
    "shared.lessons.loader",  # shared/lessons/__init__.py: names imported at first use
    "shared.lessons.checks",
    "shared.lessons.outputs",
    "shared.lessons.scaffold",
)


def _run(probe: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
    )
    return result.stdout.strip()


def test_starting_the_app_leaves_what_the_first_lesson_does_not_need_unloaded() -> None:
    probe = (
        "import sys\n"
        "import desktop.main, desktop.ui.app, desktop.ui.main_window, desktop.ui.lesson_view\n"
        f"print(sorted(m for m in {DEFERRED!r} if m in sys.modules))\n"
    )
    assert _run(probe) == "[]"


#: A process that shows CODE in an editor and prints whether Pygments was loaded, the formats of each
#: line (start, length, colour, weight) and what it would keep in the store (`take_rendered`); the
#: renderings kept by an earlier start are in argv[1] (JSON).
EDITOR_PROBE = """
import json, sys
from desktop.ui.markdown import load_rendered, take_rendered
from desktop.ui.qt import QApplication
from desktop.ui.code_editor import CodeEditor

load_rendered(json.loads(sys.argv[1]))
app = QApplication([])
editor = CodeEditor()
editor.setPlainText(sys.argv[2])
app.processEvents()
document = editor.document()
formats = [
    [
        (f.start, f.length, f.format.foreground().color().name(), f.format.fontWeight())
        for f in document.findBlockByNumber(n).layout().formats()
    ]
    for n in range(document.blockCount())
]
print(json.dumps({"pygments": "pygments" in sys.modules, "formats": formats, "kept": take_rendered()}))
"""
CODE = "def area(width):\n    return width * 2  # doubled\nprint(area(3), 'cm')\n"


def _show_code(kept: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", EDITOR_PROBE, json.dumps(kept), CODE],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
    )
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def test_code_highlighted_once_is_coloured_alike_at_the_next_start_without_loading_pygments() -> None:
    first = _show_code({})
    assert first["pygments"]
    assert all(first["formats"][:3])  # each line of code has coloured tokens
    assert first["kept"]

    second = _show_code(first["kept"])
    assert not second["pygments"]
    assert second["formats"] == first["formats"]


def test_every_name_of_shared_lessons_is_there_when_asked_for() -> None:
    import shared.lessons

    for name in shared.lessons.__all__:
        assert getattr(shared.lessons, name) is not None, name
    from shared.lessons import PROBE_SHIM_SOURCE, load_manifest

    assert "def " in PROBE_SHIM_SOURCE
    assert load_manifest.__module__ == "shared.lessons.loader"
    with pytest.raises(AttributeError):
        _ = shared.lessons.no_such_name  # type: ignore[attr-defined]


@pytest.mark.qt
def test_lesson_text_is_as_tall_as_qt_lays_it_out_at_every_width_and_text_size(qtbot) -> None:
    from desktop.ui.activities import markdown_label
    from desktop.ui.qt import QLabel, Qt

    text = "# Variables\n\n" + "A **variable** is a name that refers to a value stored in memory. " * 12
    label = markdown_label(text, "Lesson text")
    plain = QLabel(label.text())  # Qt's own answer, nothing remembered
    plain.setTextFormat(Qt.TextFormat.RichText)
    plain.setWordWrap(True)
    qtbot.addWidget(label)
    qtbot.addWidget(plain)
    for point_size in (10.0, 16.0):
        for widget in (label, plain):
            font = widget.font()
            font.setPointSizeF(point_size)
            widget.setFont(font)
        for width in (500, 260, 500, 900, 260):
            assert label.heightForWidth(width) == plain.heightForWidth(width), (point_size, width)
    label.setText(label.text() + "<p>One more paragraph, which makes the text taller.</p>")
    plain.setText(label.text())
    assert label.heightForWidth(500) == plain.heightForWidth(500)
