"""Logging out on a shared laptop: nothing of the previous user stays readable, and queued work is
never left behind without the pupil being told (and offered a sync first)."""

from __future__ import annotations

import pytest
from desktop_windows import walk_texts

from desktop.ui.activities import TextActivityWidget
from desktop.ui.qt import QApplication

pytestmark = pytest.mark.qt

ANSWER = "My private answer: input() gives back a string"


def readable_texts(window) -> list[str]:  # type: ignore[no-untyped-def]
    """The window's whole tree, shown or not, and every other window still on screen."""
    texts = walk_texts(window)
    for top in QApplication.topLevelWidgets():
        if top is not window and top.isVisible():
            texts += walk_texts(top)
    texts.append(window.windowTitle())
    return texts


def answer_and_leave_it_queued(window) -> TextActivityWidget:  # type: ignore[no-untyped-def]
    window.open_lesson(0)
    widget = next(
        w for w in window.lesson_view.activity_widgets.values() if isinstance(w, TextActivityWidget)
    )
    widget.editor.setPlainText(ANSWER)
    assert widget.save_now()
    assert window.session.store.outbox.pending_count() == 1
    return widget


def test_logout_empties_every_view_before_anyone_else_can_log_in(qtbot, make_window) -> None:
    window = make_window("pupil")
    answer_and_leave_it_queued(window)
    window.show_sync_log()
    window.show_history(next(iter(window.lesson_view.activity_widgets.values())))
    assert any(ANSWER in text for text in readable_texts(window))
    seen_at_logout: list[list[str]] = []
    window.logged_out.connect(lambda: seen_at_logout.append(readable_texts(window)))

    window.log_out()
    assert window.logout_prompt.isVisible()
    window.logout_anyway_button.click()

    assert seen_at_logout, "logged_out was not emitted"
    texts = seen_at_logout[0]
    assert not any(ANSWER in text for text in texts)
    assert not any("Variables and types" in text or "Why cast input?" in text for text in texts)
    assert not any("Pat Pupil" in text for text in texts)
    assert window.lesson_model.rowCount() == 0
    assert not window.isVisible()


def test_logout_with_queued_changes_warns_and_offers_to_sync_first(qtbot, make_window) -> None:
    window = make_window("pupil")
    answer_and_leave_it_queued(window)

    window.log_out()
    prompt = window.logout_prompt
    assert prompt.isVisible()
    assert "1 change has not reached the school server" in prompt.text()
    assert window.logout_sync_button.text() == "Sync now, then log out"
    assert not window.logged_out_by_user

    window.sync.start()  # the server cannot be reached from this laptop
    window.logout_sync_button.click()
    qtbot.waitUntil(
        lambda: window.logout_prompt is not prompt and window.logout_prompt.isVisible(), timeout=10_000
    )
    assert "could not be sent" in window.logout_prompt.informativeText()
    assert not window.logged_out_by_user  # still logged in, the work still queued
    assert window.session.store.outbox.pending_count() == 1
    window.logout_prompt.reject()
    assert window.isVisible()
    assert window.lesson_model.rowCount() == 3
