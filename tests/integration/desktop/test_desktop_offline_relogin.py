"""Against a real server: a pupil who logged out on this laptop logs in again through the login dialog
while the server is down, sees their own work, and sends it after logging in again once it is back."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import PASSWORD

from desktop.ui.activities import TextActivityWidget
from desktop.ui.login import LoginDialog
from desktop.ui.main_window import MainWindow

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.slow]

ANSWER = "Written on the bus, with no Wi-Fi."


def text_widget(window) -> TextActivityWidget:  # type: ignore[no-untyped-def]
    return next(w for w in window.lesson_view.activity_widgets.values() if isinstance(w, TextActivityWidget))


def test_pupil_logs_in_offline_sees_own_work_and_sends_it_when_the_server_returns(
    qtbot, open_app, classroom
) -> None:
    first = open_app("pupil")
    first.open_lesson(0)
    lesson_id = first.lesson_view.lesson.id
    classroom.server.stop()
    text = text_widget(first)
    text.editor.setPlainText(ANSWER)
    assert text.save_now()
    first.finish_logout()  # "Log out anyway": the answer stays queued on this laptop
    manager, settings = first.manager, first.settings

    wrong = LoginDialog(manager, server_url=classroom.url, username="pupil")
    qtbot.addWidget(wrong)
    wrong.password.setText("not my password")
    wrong.login_button.click()
    qtbot.waitUntil(lambda: "logged in on this computer before" in wrong.error.text(), timeout=20_000)
    assert wrong.session is None

    dialog = LoginDialog(manager, server_url=classroom.url, username="pupil")
    qtbot.addWidget(dialog)
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=20_000):
        dialog.login_button.click()
    session = dialog.session
    assert session is not None
    assert not session.verified
    window = MainWindow(manager, session, dataclasses.replace(settings), start_sync=False)
    qtbot.addWidget(window)
    window.show()
    window.sync.loop.backoff.base, window.sync.loop.backoff.cap = 0.2, 1.0
    window.open_lesson(0)
    assert text_widget(window).editor.toPlainText() == ANSWER
    assert any("Logged in on this computer only" in m for m in window.notifications.visible_messages())
    window.sync.start()

    classroom.server.start()  # back: the server wants a real login before taking the queued answer
    qtbot.waitUntil(lambda: window._relogin is not None and window._relogin.isVisible(), timeout=30_000)
    window._relogin.password.setText(PASSWORD)
    window._relogin.login_button.click()
    qtbot.waitUntil(lambda: window.session.store.outbox.pending_count() == 0, timeout=30_000)
    state = classroom.get("pupil", f"/api/activity/state/{lesson_id}/{text.activity.id}").json()
    assert state["state"] == {"text": ANSWER}
    window.shutdown()
    session.close()
