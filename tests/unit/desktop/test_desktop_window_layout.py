"""The main window's layout: one notification line that never moves the page, titles instead of ids,
a window that fits the screen it opens on and remembers its geometry, usable at 1024×600."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from desktop.core.engine import SyncReport
from desktop.core.store import RejectedOperation
from desktop.ui.main_window import initial_geometry
from desktop.ui.qt import QPoint, QRect, QWidget
from shared.wire.marks import Mark

pytestmark = pytest.mark.qt

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")


def screenshot(widget: QWidget, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def inside_window(window: QWidget, widget: QWidget) -> bool:
    """The widget is shown and wholly inside the window's client area (nothing cut off)."""
    if not widget.isVisible():
        return False
    top_left = widget.mapTo(window, QPoint(0, 0))
    return window.rect().contains(QRect(top_left, widget.size()))


def mark(activity_id: str, score: float, max_score: float) -> Mark:
    return Mark(
        pupil_id=3,
        lesson_id="variables",
        activity_id=activity_id,
        score=score,
        max_score=max_score,
        feedback="",
        source="teacher",
        marker="teacher",
        marked_at=datetime.now(UTC),
    )


def test_notifications_arriving_and_leaving_never_move_the_page(qtbot, make_window) -> None:
    window = make_window("pupil")
    window.open_lesson(0)
    lesson_top = window.lesson_view.mapTo(window, QPoint(0, 0))
    lesson_height = window.lesson_view.height()
    strip_height = window.notifications.height()

    for n in range(5):
        window.notifications.notify("warning" if n % 2 else "error", f"Problem number {n}")
    qtbot.wait(0)  # let the layout run (no timing involved)
    assert window.lesson_view.mapTo(window, QPoint(0, 0)) == lesson_top
    assert window.lesson_view.height() == lesson_height
    assert window.notifications.height() == strip_height
    assert "Problem number 4" in window.notifications.message.toolTip()
    assert window.notifications.more.text() == "+4"

    for _ in range(5):
        window.notifications.dismiss()
    assert window.notifications.visible_messages() == []
    assert window.lesson_view.height() == lesson_height
    assert window.notifications.height() == strip_height


def test_offline_notice_clears_itself_when_the_connection_is_back(qtbot, make_window) -> None:
    window = make_window("pupil")
    engine = window.session.engine

    window.sync.status_changed.emit(engine.status("offline", retry_in=4))
    assert any("Offline" in message for message in window.notifications.visible_messages())
    assert "Offline" in window.status_bar.connection.text()
    window.sync.status_changed.emit(engine.status("offline", retry_in=8))  # a second failed try
    assert sum("Offline" in m for m in window.notifications.visible_messages()) == 1

    window.sync.status_changed.emit(engine.status("idle"))
    assert not any("Offline" in message for message in window.notifications.visible_messages())
    assert "Online" in window.status_bar.connection.text()


def test_new_marks_arrive_as_one_message_naming_activities_by_title(qtbot, make_window) -> None:
    window = make_window("pupil")
    window.sync.sync_finished.emit(SyncReport(new_marks=[mark("why-casting", 1, 2)]))
    window.sync.sync_finished.emit(
        SyncReport(new_marks=[mark("pick-type", 0, 1), mark("print-minutes", 2, 2)])
    )

    messages = window.notifications.visible_messages()
    assert len(messages) == 1
    assert messages[0].startswith("3 new marks")
    assert "“Why cast input?” (Variables and types) 1/2" in messages[0]
    assert "Pick the type" in messages[0]
    assert "why-casting" not in messages[0]


def test_refused_change_and_sync_log_name_the_activity_by_title(qtbot, make_window) -> None:
    window = make_window("pupil")
    refused = RejectedOperation(
        op_id=uuid.uuid4(),
        kind="activity.save",
        lesson_id="variables",
        activity_id="why-casting",
        pupil_id=None,
        payload={},
        client_time=datetime.now(UTC),
        reason="Too long.",
        code="invalid",
        rejected_at=datetime.now(UTC),
    )
    window.sync.sync_finished.emit(SyncReport(rejected=[refused]))
    assert "“Why cast input?” (Variables and types)" in window.notifications.current.message

    window.session.store.outbox.save_answer("variables", "why-casting", {"text": "Because it is text."})
    window.show_sync_log()
    waiting = window.sync_log.waiting
    assert waiting.item(0, 0).text() == "“Why cast input?” (Variables and types)"


@pytest.mark.parametrize(
    ("screen", "expected"),
    [
        (QRect(0, 0, 1024, 600), QRect(0, 0, 1024, 600)),
        (QRect(0, 0, 1366, 740), QRect(0, 0, 1366, 740)),
        (QRect(0, 0, 1920, 1040), QRect(160, 52, 1600, 936)),
    ],
)
def test_window_opens_sized_to_the_available_screen(screen: QRect, expected: QRect) -> None:
    assert initial_geometry(screen) == expected


def test_window_remembers_its_size_next_time(qtbot, make_window) -> None:
    first = make_window("pupil", size=None)
    first.resize(760, 540)  # the offscreen screen is 800×800: restoring clamps to it
    first.lessons_splitter.setSizes([300, 460])
    list_width = first.lesson_list.width()
    first.shutdown()
    first.hide()

    second = make_window("pupil", size=None)
    assert (second.width(), second.height()) == (760, 540)
    assert second.lesson_list.width() == list_width


@pytest.mark.parametrize("font_scale", [1.0, 1.5])
def test_status_bar_scroll_bar_and_sync_now_are_reachable_at_1024_by_600(
    qtbot, make_window, laptop, font_scale: float
) -> None:
    laptop.font_scale = font_scale
    window = make_window("pupil", size=(1024, 600))
    window.open_lesson(0)
    window.notifications.notify("warning", "Offline: your answers are saved on this computer.")
    qtbot.waitUntil(lambda: window.lesson_view.verticalScrollBar().isVisible())

    assert (window.width(), window.height()) == (1024, 600)
    assert window.minimumSizeHint().width() <= 1024
    assert window.minimumSizeHint().height() <= 600
    for widget in (
        window.status_bar,
        window.status_bar.sync_button,
        window.status_bar.pending,
        window.status_bar.connection,
        window.notifications,
        window.lesson_view.verticalScrollBar(),
        window.lesson_list,
    ):
        assert inside_window(window, widget), widget.accessibleName()
    assert not window.lesson_view.horizontalScrollBar().isVisible()  # the page re-wraps instead
    name = "small-screen" if font_scale == 1.0 else "small-screen-150"
    screenshot(window, name)


def test_sync_log_names_the_pupil_a_queued_mark_is_for(qtbot, make_window) -> None:
    from shared.wire.auth import User
    from shared.wire.teaching import ClassProgress, TeacherClass

    window = make_window("teacher")
    store = window.session.store
    store.cache.put("teacher:classes", [TeacherClass(id=7, name="12C", pupil_count=1)])
    pupil = User(id=3, username="pupil", display_name="Pat Pupil", role="pupil")
    store.cache.put("teacher:progress:7", ClassProgress(class_id=7, name="12C", pupils=[pupil], cells=[]))
    store.outbox.queue_mark(3, "variables", "pick-type", score=1, max_score=1, feedback="", marker="teacher")
    window.show_sync_log()
    assert (
        window.sync_log.waiting.item(0, 0).text()
        == "Mark for Pat Pupil: “Pick the type” (Variables and types)"
    )
