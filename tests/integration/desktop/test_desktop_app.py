"""The real desktop widgets against a real server process on PostgreSQL (offscreen Qt).

Set POST16_DESKTOP_SCREENSHOTS=docs/screenshots to (re)write the screenshots of the main screens.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.ui.activities import ChoiceActivityWidget, CodeActivityWidget, TextActivityWidget
from shared.wire.run import RunResult

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.slow]

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def widget_of(window, kind):  # type: ignore[no-untyped-def]
    return next(w for w in window.lesson_view.activity_widgets.values() if isinstance(w, kind))


def synced(window) -> bool:  # type: ignore[no-untyped-def]
    status = window.status_bar.current
    return (
        window.session.store.outbox.pending_count() == 0
        and status is not None
        and status.state == "idle"
        and status.pending == 0
    )


def test_pupil_answers_offline_and_the_queue_drains_when_the_server_returns(
    qtbot, open_app, classroom
) -> None:
    window = open_app("pupil")
    window.open_lesson(0)
    lesson = window.lesson_view.lesson
    assert lesson is not None
    code = widget_of(window, CodeActivityWidget)
    choice = widget_of(window, ChoiceActivityWidget)
    text = widget_of(window, TextActivityWidget)

    code.editor.setPlainText("minutes = 135 // 60\nprint(minutes)\n")
    assert code.save_now()
    choice.select(1)
    text.editor.setPlainText("first try")
    assert text.save_now()
    assert text.save_state.text().startswith("Saved on this computer")
    qtbot.waitUntil(lambda: synced(window), timeout=20_000)
    text.refresh()
    assert text.save_state.text().startswith("Saved and synced")
    # The output pane, as a run's result arrives (the real sandbox: test_desktop_code_sandbox.py).
    code._show_run(RunResult(status="success", stdout="2\n", duration_ms=38.0))
    assert code.output.toPlainText().startswith("2\n[finished in 38 ms]")

    classroom.server.stop()
    text.editor.setPlainText("second try, offline")
    assert text.save_now()
    code.editor.setPlainText("print(135 // 60, 135 % 60)\n")
    assert code.save_now()
    text.editor.setPlainText("final answer, still offline")
    assert text.save_now()
    qtbot.waitUntil(lambda: window.status_bar.current.state == "offline", timeout=20_000)
    # Offline, the program still runs: on this laptop.
    with qtbot.waitSignal(code.console.finished, timeout=20_000):
        code.run_code()
    assert code.console.output.toPlainText() == "2 15\n"
    assert "3 changes waiting to sync" in window.status_bar.pending.text()
    assert "Offline" in window.status_bar.connection.text()
    assert any("Offline" in message for _, message in window.notifications.history)
    window.lesson_view.verticalScrollBar().setValue(window.lesson_view.verticalScrollBar().maximum())
    screenshot(window, "offline-queue")

    classroom.server.start()
    qtbot.waitUntil(lambda: synced(window), timeout=30_000)
    assert "Nothing waiting" in window.status_bar.pending.text()

    for activity_id, expected in (
        (text.activity.id, {"text": "final answer, still offline"}),
        (code.activity.id, {"code": "print(135 // 60, 135 % 60)\n"}),
        (choice.activity.id, {"selected": [1]}),
    ):
        state = classroom.get("pupil", f"/api/activity/state/{lesson.id}/{activity_id}").json()
        assert state["state"] == expected
    revisions = classroom.get("pupil", f"/api/activity/revisions/{lesson.id}/{text.activity.id}").json()
    assert sorted(r["state"]["text"] for r in revisions["revisions"]) == sorted(
        ["first try", "second try, offline", "final answer, still offline"]
    )
    code_revisions = classroom.get("pupil", f"/api/activity/revisions/{lesson.id}/{code.activity.id}").json()
    assert len(code_revisions["revisions"]) == 2
    receipts = window.session.store.outbox.receipts()
    assert len(receipts) == 6
    assert all(r.received_at is not None for r in receipts)


def test_teacher_marks_offline_and_the_mark_reaches_the_pupil(qtbot, open_app, classroom) -> None:
    pupil = open_app("pupil", laptop="pupil-laptop")
    pupil.open_lesson(0)
    text = widget_of(pupil, TextActivityWidget)
    text.editor.setPlainText("Because input() always returns a string.")
    assert text.save_now()
    qtbot.waitUntil(lambda: synced(pupil), timeout=20_000)
    screenshot(pupil, "pupil-lesson")

    teacher = open_app("teacher", laptop="teacher-laptop")
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    view = teacher.teacher_view
    qtbot.waitUntil(lambda: view.grid_model.rowCount() == 1, timeout=20_000)
    column = next(i for i, c in enumerate(view.grid_model.columns) if c.activity.id == text.activity.id)
    qtbot.waitUntil(lambda: view.grid_model.cell_state(0, column)[0] == "answered", timeout=20_000)
    screenshot(teacher, "teacher-grid")

    classroom.server.stop()
    qtbot.waitUntil(lambda: teacher.status_bar.current.state == "offline", timeout=20_000)
    view.open_cell(0, column)
    qtbot.waitUntil(lambda: "input() always" in view.marking.answer.toPlainText(), timeout=10_000)
    view.marking.score.setText(f"{text.activity.max_score:g}")
    view.marking.feedback.setPlainText("Exactly right: input() gives you text.")
    view.marking.save_mark()
    assert view.grid_model.cell_state(0, column)[0] == "pending"
    assert view.marking.state_label.text() == "Mark saved here · waiting to sync"
    qtbot.waitUntil(lambda: "1 change waiting" in teacher.status_bar.pending.text(), timeout=10_000)
    screenshot(teacher, "marking")

    classroom.server.start()
    qtbot.waitUntil(lambda: synced(teacher), timeout=30_000)
    pupil.sync.sync_now()
    qtbot.waitUntil(text.mark_label.isVisible, timeout=30_000)
    assert "input() gives you text" in text.mark_label.text()
    assert any("New mark" in message for _, message in pupil.notifications.history)


def test_second_pupil_on_the_same_laptop_starts_with_an_empty_queue(qtbot, open_app, classroom) -> None:
    first = open_app("pupil", laptop="shared")
    first.open_lesson(0)
    text = widget_of(first, TextActivityWidget)
    classroom.server.stop()
    text.editor.setPlainText("pupil one, offline")
    assert text.save_now()
    first.shutdown()
    classroom.server.start()

    second = open_app("pupil2", laptop="shared")
    second.open_lesson(0)
    qtbot.waitUntil(lambda: synced(second), timeout=20_000)
    assert widget_of(second, TextActivityWidget).editor.toPlainText() == ""
    assert first.session.store.outbox.pending_count() == 1  # still waiting for pupil one
    response = classroom.get("pupil", f"/api/activity/state/{first.lesson_view.lesson.id}/{text.activity.id}")
    assert (
        response.status_code == 404 or response.json() in (None, {}) or response.json().get("state") is None
    )


def test_a_check_the_server_cannot_run_is_never_shown_as_confirmed(qtbot, open_app, classroom) -> None:
    window = open_app("pupil")
    window.open_lesson(0)
    code = widget_of(window, CodeActivityWidget)
    qtbot.waitUntil(lambda: synced(window), timeout=20_000)
    code.editor.setPlainText("print(int(input()) // 60, 'minutes')\n")

    code.check_code()

    qtbot.waitUntil(lambda: "Queued" in code.output.toPlainText(), timeout=30_000)
    told = code.output.toPlainText()
    assert "provisional" in told
    assert "Confirmed" not in told
    assert "switched off" in told  # this classroom's server runs no sandbox


def test_a_choice_made_offline_is_marked_by_the_server_when_it_syncs(qtbot, open_app, classroom) -> None:
    window = open_app("pupil")
    window.open_lesson(0)
    choice = widget_of(window, ChoiceActivityWidget)
    assert choice.activity.correct is None  # the pupil's copy carries no answer key

    classroom.server.stop()
    choice.select(0)  # "int": wrong
    choice.refresh()
    assert choice.save_state.text().endswith("marked automatically when it reaches the server")
    assert choice.mark_label.isHidden()

    classroom.server.start()
    qtbot.waitUntil(lambda: synced(window), timeout=30_000)

    def marked() -> bool:
        choice.refresh()
        return choice.mark_label.isVisible() and "Mark: 0 / 1" in choice.mark_label.text()

    qtbot.waitUntil(marked, timeout=20_000)
    assert "(version 1)" in choice.mark_label.text()
    assert "Not right this time" in choice.mark_label.text()

    choice.select(1)  # "float": right, online now
    qtbot.waitUntil(lambda: synced(window), timeout=20_000)

    def remarked() -> bool:
        choice.refresh()
        return "Mark: 1 / 1</b> (version 2)" in choice.mark_label.text()

    qtbot.waitUntil(remarked, timeout=20_000)
    assert choice.save_state.text().startswith("Saved and synced")
