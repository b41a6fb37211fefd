"""A sense of place: answered / marked counts per lesson in the list, "Next lesson", and a search over
lessons and activities that opens the activity it found."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop.ui.activities import TextActivityWidget
from desktop.ui.qt import QPoint, QRect, Qt
from shared.wire.marks import Mark

pytestmark = pytest.mark.qt


def list_text(window, row: int) -> str:  # type: ignore[no-untyped-def]
    return window.lesson_model.data(window.lesson_model.index(row), Qt.ItemDataRole.DisplayRole)


def test_lesson_list_counts_answered_and_marked_activities(qtbot, make_window) -> None:
    window = make_window("pupil")
    assert list_text(window, 0) == "Variables and types\n0/3 answered · 0 marked"
    window.open_lesson(0)
    text = next(w for w in window.lesson_view.activity_widgets.values() if isinstance(w, TextActivityWidget))
    text.editor.setPlainText("Because it is a string.")
    assert text.save_now()
    assert list_text(window, 0) == "Variables and types\n1/3 answered · 0 marked"

    mark = Mark(
        pupil_id=3,
        lesson_id="variables",
        activity_id="why-casting",
        score=2,
        max_score=2,
        feedback="",
        source="teacher",
        marker="teacher",
        marked_at=datetime.now(UTC),
    )
    window.session.store.marks.replace([mark])
    from desktop.core.engine import SyncReport

    window.sync.sync_finished.emit(SyncReport(new_marks=[mark]))
    assert list_text(window, 0) == "Variables and types\n1/3 answered · 1 marked"
    assert list_text(window, 1) == "Loops\n0/1 answered · 0 marked"


def test_next_lesson_button_and_shortcut_open_the_following_lesson(qtbot, make_window) -> None:
    window = make_window("pupil")
    window.open_lesson(0)
    button = window.lesson_view.next_button
    assert button.text() == "Next lesson: Loops ▶"
    button.click()
    assert window.lesson_view.lesson.id == "loops"
    assert window.lesson_list.currentIndex().row() == 1

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.lesson_view, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert window.lesson_view.lesson.id == "functions"
    assert window.lesson_view.next_button.isHidden()  # the last lesson
    window.previous_lesson()
    assert window.lesson_view.lesson.id == "loops"


def test_search_finds_an_activity_by_its_question_and_opens_it(qtbot, make_window) -> None:
    window = make_window("pupil")
    window.open_lesson(1)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.lesson_list, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    search = window.navigator.search
    assert search.hasFocus()

    qtbot.keyClicks(search, "input converted")  # words of the question, not its title
    results = window.navigator.results
    assert results.isVisible()
    labels = [results.item(i).text() for i in range(results.count())]
    assert labels == ["Variables and types › Why cast input?"]
    qtbot.keyClick(search, Qt.Key.Key_Return)

    assert window.lesson_view.lesson.id == "variables"
    widget = window.lesson_view.activity_widgets["why-casting"]
    viewport = window.lesson_view.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    assert viewport.rect().intersects(QRect(top_left, widget.size()))

    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert search.text() == ""
    assert window.lesson_list.isVisible()


def test_search_says_when_nothing_matches(qtbot, make_window) -> None:
    window = make_window("pupil")
    window.navigator.search.setText("recursion")
    results = window.navigator.results
    assert results.count() == 1
    assert results.item(0).text() == "Nothing found for “recursion”."
