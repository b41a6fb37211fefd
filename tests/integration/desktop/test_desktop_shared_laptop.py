"""A shared school laptop against a real server: logging out hides the previous user's work at once
(a teacher's class grid and a pupil's answer included) and sends queued work first when asked."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from desktop.core.engine import Backoff
from desktop.ui.activities import TextActivityWidget
from desktop.ui.qt import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "desktop"))
from desktop_windows import walk_texts

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.slow]

ANSWER = "Because input() always returns a string."


def widget_of(window, kind):  # type: ignore[no-untyped-def]
    return next(w for w in window.lesson_view.activity_widgets.values() if isinstance(w, kind))


def readable_texts(window) -> list[str]:  # type: ignore[no-untyped-def]
    texts = walk_texts(window)
    for top in QApplication.topLevelWidgets():
        if top is not window and top.isVisible():
            texts += walk_texts(top)
    return [*texts, window.windowTitle()]


def synced(window) -> bool:  # type: ignore[no-untyped-def]
    status = window.status_bar.current
    return window.session.store.outbox.pending_count() == 0 and status is not None and status.state == "idle"


def test_teacher_logout_leaves_no_pupil_answer_or_grid_readable(qtbot, open_app) -> None:
    pupil = open_app("pupil", laptop="pupil-laptop")
    pupil.open_lesson(0)
    text = widget_of(pupil, TextActivityWidget)
    text.editor.setPlainText(ANSWER)
    assert text.save_now()
    qtbot.waitUntil(lambda: synced(pupil), timeout=20_000)
    pupil.hide()  # the pupil's own laptop, not this one

    teacher = open_app("teacher", laptop="teacher-laptop")
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    view = teacher.teacher_view
    qtbot.waitUntil(lambda: view.grid_model.rowCount() == 1, timeout=20_000)
    column = next(i for i, c in enumerate(view.grid_model.columns) if c.activity.id == text.activity.id)
    view.open_cell(0, column)
    qtbot.waitUntil(lambda: ANSWER in view.marking.answer.toPlainText(), timeout=10_000)
    pupil_name = view.grid_model.pupil(0).display_name
    assert any(pupil_name in t for t in readable_texts(teacher))
    seen: list[list[str]] = []
    teacher.logged_out.connect(lambda: seen.append(readable_texts(teacher)))

    teacher.log_out()

    assert seen, "the teacher was not logged out"
    assert not any(ANSWER in t for t in seen[0])
    assert not any(pupil_name in t for t in seen[0])
    assert not any("12C" in t for t in seen[0])
    assert not teacher.isVisible()


def test_logout_with_queued_work_syncs_it_first_then_logs_out(qtbot, open_app, classroom) -> None:
    window = open_app("pupil")
    window.open_lesson(0)
    text = widget_of(window, TextActivityWidget)
    classroom.server.stop()
    text.editor.setPlainText(ANSWER)
    assert text.save_now()
    qtbot.waitUntil(lambda: window.status_bar.current.state == "offline", timeout=20_000)
    window.sync.loop.backoff = Backoff(base=600, cap=600)  # no retry of its own: only the pupil's
    qtbot.waitUntil(lambda: window.status_bar.current.state == "offline", timeout=20_000)
    classroom.server.start()
    qtbot.waitUntil(lambda: httpx.get(f"{classroom.url}/api/health").status_code == 200, timeout=20_000)
    assert window.session.store.outbox.pending_count() == 1

    window.log_out()
    assert "1 change has not reached the school server" in window.logout_prompt.text()
    # The first request after the server restarted can fail on a connection the client kept from
    # before; the pupil is asked again and tries again, as they would.
    for _attempt in range(3):
        prompt = window.logout_prompt
        window.logout_sync_button.click()
        qtbot.waitUntil(
            lambda p=prompt: window.logged_out_by_user or window.logout_prompt is not p, timeout=30_000
        )
        if window.logged_out_by_user:
            break
    assert window.logged_out_by_user

    state = classroom.get("pupil", f"/api/activity/state/{text.lesson.id}/{text.activity.id}").json()
    assert state["state"] == {"text": ANSWER}
