"""The UI's operations layer (desktop/ui/operations.py): a write that fails is shown where the user
looks (the notification line, and beside the answer), never swallowed; a write that succeeds tells the
views what changed; a read off the UI thread that fails is shown too."""

from __future__ import annotations

import pytest

from desktop.core.errors import StoreFullError
from desktop.ui.activities import TextActivityWidget
from desktop.ui.operations import CollectionOp, QueryOp, StoreChanges
from desktop.ui.qt import Qt

pytestmark = pytest.mark.qt

FULL = "Not saved: the disk is full. Free some space; your answer is still on screen."


def text_widget(window):  # type: ignore[no-untyped-def]
    window.open_lesson(0)
    return next(w for w in window.lesson_view.activity_widgets.values() if isinstance(w, TextActivityWidget))


def lesson_list_text(window, row: int = 0) -> str:  # type: ignore[no-untyped-def]
    return window.lesson_model.data(window.lesson_model.index(row), Qt.ItemDataRole.DisplayRole)


def test_an_answer_the_disk_cannot_take_is_reported_and_stays_on_screen(
    qtbot, make_window, monkeypatch
) -> None:
    window = make_window("pupil")
    widget = text_widget(window)

    def disk_full(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise StoreFullError(FULL)

    monkeypatch.setattr(window.session.store.outbox, "save_answer", disk_full)
    widget.editor.setPlainText("Because it is a string.")
    with qtbot.assertNotEmitted(window.ctx.events.changed):
        assert not widget.save_now()
    assert widget.save_state.text() == "Not saved!"
    assert window.notifications.message.toolTip() == FULL  # the newest notice, shown on the line
    assert widget.editor.toPlainText() == "Because it is a string."
    assert window.session.store.outbox.answer("variables", "why-casting") is None
    assert lesson_list_text(window) == "Variables and types\n0/3 answered · 0 marked"


def test_an_unexpected_error_in_a_write_is_shown_not_swallowed(qtbot, make_window) -> None:
    window = make_window("pupil")
    seen: list[Exception] = []

    def broken(_store):  # type: ignore[no-untyped-def]
        raise RuntimeError("the index is gone")

    with qtbot.assertNotEmitted(window.ctx.events.changed):
        ran = CollectionOp(window.ctx, broken, StoreChanges(marks=True), what="Saving the mark").failure(
            seen.append
        )
        assert not ran.run()
    assert [str(error) for error in seen] == ["the index is gone"]
    assert window.notifications.message.toolTip() == "Saving the mark failed: the index is gone"


def test_views_hear_what_a_saved_answer_changed(qtbot, make_window) -> None:
    window = make_window("pupil")
    widget = text_widget(window)
    widget.editor.setPlainText("Because it is a string.")
    with qtbot.waitSignal(window.ctx.events.changed) as heard:
        assert widget.save_now()
    assert heard.args == [
        StoreChanges(answers=True, outbox=True, activities=((None, "variables", "why-casting"),))
    ]
    assert widget.save_state.text() == "Saved on this computer · waiting to sync"
    assert lesson_list_text(window) == "Variables and types\n1/3 answered · 0 marked"


def test_a_read_that_fails_off_the_ui_thread_is_shown(qtbot, make_window) -> None:
    window = make_window("pupil")
    results: list[object] = []

    def broken(_store):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot read the class")

    QueryOp(window.ctx, broken, what="Refreshing the grid").success(results.append).run_in_background()
    qtbot.waitUntil(
        lambda: ("error", "Refreshing the grid failed: cannot read the class") in window.notifications.history
    )
    assert results == []


def test_a_read_off_the_ui_thread_hands_its_result_back(qtbot, make_window) -> None:
    window = make_window("pupil")
    results: list[object] = []
    QueryOp(window.ctx, lambda store: store.lessons.summaries()[0].title, what="Reading").success(
        results.append
    ).run_in_background()
    qtbot.waitUntil(lambda: results == ["Variables and types"])


def test_views_hear_what_a_sync_changed(qtbot, make_window) -> None:
    from desktop.core.engine import SyncReport

    window = make_window("pupil")
    with qtbot.waitSignal(window.ctx.events.changed) as heard:
        window.sync.sync_finished.emit(SyncReport(pushed=2))
    assert heard.args == [StoreChanges(outbox=True)]
    with qtbot.assertNotEmitted(window.ctx.events.changed):
        window.sync.sync_finished.emit(SyncReport())
