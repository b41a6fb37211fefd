"""A teacher marks a code answer against the real stack: a server process on PostgreSQL with the
sandbox on checks the pupil's program; the server's check reaches the teacher's laptop by pull, the
marking panel shows it for the version being marked, runs the visible tests here by name (the hidden one
only counted) and runs the pupil's program in the console, input typed as it asks."""

from __future__ import annotations

import pytest
from desktop_helpers import open_marking

from desktop.ui.activities import CodeActivityWidget
from desktop.ui.qt import Qt

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.docker, pytest.mark.slow]

LESSON = "variables-and-types"
ACTIVITY = "seconds-to-minutes"
# Right for the two visible tests (125 s, 3600 s), wrong for the hidden one (under a minute).
VISIBLE_ONLY_ANSWER = (
    "total_seconds = int(input())\n"
    "minutes = total_seconds // 60\n"
    "seconds = total_seconds % 60\n"
    'print(f"{max(minutes, 1)} minutes and {seconds} seconds")\n'
)


@pytest.fixture
def server_overrides(sandbox_image: str) -> dict[str, str]:
    return {"POST16_SANDBOX_ENABLED": "true", "POST16_SANDBOX_IMAGE": sandbox_image}


def test_teacher_sees_the_servers_check_runs_the_visible_tests_and_the_program(qtbot, open_app) -> None:
    pupil = open_app("pupil")
    pupil.open_lesson_by_id(LESSON)
    code = pupil.lesson_view.activity_widgets[ACTIVITY]
    assert isinstance(code, CodeActivityWidget)
    code.editor.setPlainText(VISIBLE_ONLY_ANSWER)
    qtbot.mouseClick(code.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Mark: 2 / 3" in code.mark_label.text(), timeout=120_000)

    teacher = open_app("teacher", laptop="teacher-laptop")
    marking = open_marking(qtbot, teacher, LESSON, ACTIVITY)
    qtbot.waitUntil(lambda: marking.code_answer.toPlainText() == VISIBLE_ONLY_ANSWER, timeout=30_000)
    results = marking.test_results.text()
    assert "Server's check</b> of version 1: 2 / 3" in results
    assert "2 of 3 tests passed" in results

    marking.check_button.click()
    qtbot.waitUntil(lambda: "run here" in marking.test_results.text(), timeout=60_000)
    results = marking.test_results.text()
    assert "<b>Visible tests</b> on version 1, run here: 2 of 2 pass" in results
    assert "✔ 125 seconds" in results
    assert "✔ exactly one hour" in results
    assert "1 hidden test runs on the server only" in results
    assert "less than a minute" not in results  # the hidden test's name never reaches the laptop

    marking.run_button.click()
    console = marking.console
    assert console is not None
    qtbot.waitUntil(console.input.isEnabled, timeout=10_000)
    qtbot.keyClicks(console.input, "59")
    with qtbot.waitSignal(console.finished, timeout=30_000):
        qtbot.keyClick(console.input, Qt.Key.Key_Return)
    assert console.output.toPlainText() == "59\n1 minutes and 59 seconds\n"  # the hidden test's case
    assert console.status.text().startswith("Finished in")
