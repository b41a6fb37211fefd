"""The code activity against the real sandbox (issue 4): a real server process on PostgreSQL with the
sandbox switched on runs the pupil's program in a throwaway Docker container; the pupil presses
Ctrl+Enter in the real code editor and reads the real output, presses Check and reads per-test results,
and the automatic mark arrives in the app."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from desktop.core.school_settings import remember_school_settings
from desktop.ui.activities import CodeActivityWidget
from desktop.ui.qt import Qt
from shared.wire.settings import SchoolSettings

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.docker, pytest.mark.slow]

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")
LESSON = "variables-and-types"
ACTIVITY = "seconds-to-minutes"
MODEL_ANSWER = (
    "total_seconds = int(input())\n"
    "minutes = total_seconds // 60\n"
    "seconds = total_seconds % 60\n"
    'print(f"{minutes} minutes and {seconds} seconds")\n'
)
WRONG_ANSWER = (
    'total_seconds = int(input())\nprint(f"{total_seconds / 60} minutes and {total_seconds % 60} seconds")\n'
)


@pytest.fixture
def server_overrides(sandbox_image: str) -> dict[str, str]:
    return {"POST16_SANDBOX_ENABLED": "true", "POST16_SANDBOX_IMAGE": sandbox_image}


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def open_code_activity(open_app):  # type: ignore[no-untyped-def]
    window = open_app("pupil")
    window.open_lesson_by_id(LESSON)
    code = window.lesson_view.activity_widgets[ACTIVITY]
    assert isinstance(code, CodeActivityWidget)
    return window, code


def test_ctrl_enter_runs_the_program_on_the_laptop_offline_and_input_is_typed_as_it_asks(
    qtbot, open_app, classroom
) -> None:
    window, code = open_code_activity(open_app)
    classroom.server.stop()  # the Wi-Fi is gone: the program still runs, here
    qtbot.waitUntil(lambda: window.status_bar.current.state == "offline", timeout=30_000)
    code.editor.setPlainText(MODEL_ANSWER)
    code.editor.setFocus()
    qtbot.keyClick(code.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    qtbot.waitUntil(code.console.input.isEnabled, timeout=10_000)
    qtbot.keyClicks(code.console.input, "125")
    with qtbot.waitSignal(code.console.finished, timeout=30_000):
        qtbot.keyClick(code.console.input, Qt.Key.Key_Return)
    assert code.console.output.toPlainText() == "125\n2 minutes and 5 seconds\n"
    assert code.console.status.text().startswith("Finished in")
    assert "Offline" in window.status_bar.connection.text()
    window.lesson_view.verticalScrollBar().setValue(code.y() - 8)
    screenshot(window, "code-activity")

    code.editor.setPlainText("print('before')\nraise ValueError('bad value')\n")
    with qtbot.waitSignal(code.console.finished, timeout=30_000):
        code.run_button.click()
    output = code.console.output.toPlainText()
    assert output.startswith("before\n")
    assert "ValueError: bad value" in output
    assert "stopped with an error" in code.console.status.text()


def test_server_only_runs_go_to_the_sandbox_with_the_input_typed_beforehand(qtbot, open_app) -> None:
    _window, code = open_code_activity(open_app)
    remember_school_settings(code.ctx.store, SchoolSettings(code_execution="server_only"))
    code.editor.setPlainText(MODEL_ANSWER)
    code._show_where_code_runs()
    assert not code.console.isVisible()
    assert code.stdin.isVisible()
    code.stdin.setPlainText("125")

    code.run_code()

    qtbot.waitUntil(lambda: "[finished in" in code.output.toPlainText(), timeout=60_000)
    assert code.output.toPlainText().startswith("2 minutes and 5 seconds\n[finished in ")


def test_check_shows_each_test_and_the_automatic_mark_reaches_the_pupil(qtbot, open_app, classroom) -> None:
    window, code = open_code_activity(open_app)
    code.editor.setPlainText(WRONG_ANSWER)
    qtbot.mouseClick(code.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Confirmed by the server" in code.output.toPlainText(), timeout=60_000)
    failed = code.output.toPlainText()
    assert failed.startswith("0 of 2 visible tests pass — provisional; 1 hidden test runs on the server\n"), (
        failed
    )
    assert "Confirmed by the server — score: 0 / 3\n" in failed
    assert "✘ 125 seconds" in failed
    assert "✘ exactly one hour" in failed

    code.editor.setPlainText(MODEL_ANSWER)
    qtbot.mouseClick(code.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "score: 3 / 3" in code.output.toPlainText(), timeout=60_000)
    passed = code.output.toPlainText().splitlines()
    assert passed[0] == "2 of 2 visible tests pass — provisional; 1 hidden test runs on the server"
    assert passed[-3:] == ["✔ 125 seconds", "✔ exactly one hour", "✔ less than a minute"]

    qtbot.waitUntil(lambda: "Mark: 3 / 3" in code.mark_label.text(), timeout=30_000)
    assert code.mark_label.isVisible()
    marks = classroom.get("pupil", "/api/marks").json()
    [mark] = [m for m in marks if (m["lesson_id"], m["activity_id"]) == (LESSON, ACTIVITY)]
    assert (mark["score"], mark["max_score"], mark["source"]) == (3, 3, "auto")
    window.lesson_view.verticalScrollBar().setValue(code.y() - 8)
    screenshot(window, "code-check")


# Right for the two visible tests (125 s, 3600 s), wrong for the hidden one (under a minute).
VISIBLE_ONLY_ANSWER = (
    "total_seconds = int(input())\n"
    "minutes = total_seconds // 60\n"
    "seconds = total_seconds % 60\n"
    'print(f"{max(minutes, 1)} minutes and {seconds} seconds")\n'
)


def test_an_offline_check_is_provisional_then_confirmed_with_the_hidden_test(
    qtbot, open_app, classroom
) -> None:
    window, code = open_code_activity(open_app)
    classroom.server.stop()
    qtbot.waitUntil(lambda: window.status_bar.current.state == "offline", timeout=30_000)
    code.editor.setPlainText(VISIBLE_ONLY_ANSWER)

    qtbot.mouseClick(code.check_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: "Queued" in code.output.toPlainText(), timeout=30_000)
    assert code.output.toPlainText().startswith(
        "2 of 2 visible tests pass — provisional; 1 hidden test runs on the server\n"
    )
    window.lesson_view.verticalScrollBar().setValue(code.y() - 8)
    screenshot(window, "code-check-provisional")

    classroom.server.start()
    last_nudge = [0.0]

    def confirmed() -> bool:
        # As a pupil presses "Sync now" rather than wait out the back-off of the offline spell.
        if time.monotonic() - last_nudge[0] > 3:
            last_nudge[0] = time.monotonic()
            code.ctx.sync_now()
        return "Mark: 2 / 3</b> (version 1)" in code.mark_label.text()

    qtbot.waitUntil(confirmed, timeout=120_000)
    assert "Automatic check of version 1: 2 of 3 tests passed." in code.mark_label.text()
    told = code.output.toPlainText()
    assert "Confirmed by the server — score: 2 / 3 for version 1" in told
    assert "differs from this computer's provisional result" in told
    marks = classroom.get("pupil", "/api/marks").json()
    [mark] = [m for m in marks if (m["lesson_id"], m["activity_id"]) == (LESSON, ACTIVITY)]
    assert (mark["score"], mark["revision"], mark["source"]) == (2, 1, "auto")
    window.lesson_view.verticalScrollBar().setValue(code.y() - 8)
    screenshot(window, "code-check-confirmed")

    # The teacher sees the confirmed mark, and which version it belongs to.
    teacher = open_app("teacher", laptop="teacher-laptop")
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    view = teacher.teacher_view
    qtbot.waitUntil(lambda: view.grid_model.rowCount() > 0, timeout=30_000)
    column = next(i for i, c in enumerate(view.grid_model.columns) if c.activity.id == ACTIVITY)
    qtbot.waitUntil(lambda: view.grid_model.cell_state(0, column)[1] is not None, timeout=30_000)
    tip = view.grid_model.data(view.grid_model.index(0, column), Qt.ItemDataRole.ToolTipRole)
    assert tip.endswith("(2/3), automatic mark of version 1")
    view.open_cell(0, column)
    assert view.marking.state_label.text().startswith("Automatic mark of version 1")
